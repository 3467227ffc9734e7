"""Value types that several events share."""

from __future__ import annotations

from typing import Literal

Origin = Literal["human", "ai", "collab"]
Visibility = Literal["public", "unlisted", "private"]
AssetKind = Literal["upload", "generated", "sample"]
Architecture = Literal["dcgan", "collage", "vae"]
GenerationMode = Literal["sample", "variations", "interpolate", "edit"]
# CAWG training-and-data-mining `use` values.
TrainingMining = Literal["notAllowed", "allowed", "constrained"]
# Why a work's consent ended: its author switched training off, deleted it, or deleted the account.
ConsentReason = Literal["consent_withdrawn", "account_consent_withdrawn", "work_deleted", "account_deleted"]
