"""Settings of the community service (`ATELIER_*` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from shared.settings import DatabaseSettings, ServiceSettings


class CommunitySettings(ServiceSettings, DatabaseSettings):
    service_name: str = "community"
    http_port: int = Field(8081, ge=0, le=65535)
    # Ed25519 private key (PEM) that signs access tokens; only this service holds it.
    jwt_private_key_file: Path | None = None
    token_ttl_s: int = Field(3600, ge=60)
    # Signs pagination cursors. Unset: derived from the JWT key, so replicas agree without config.
    cursor_secret: SecretStr | None = None
    # argon2id cost (RFC 9106 "low memory" profile by default).
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(64 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(4, ge=1)
    password_hash_workers: int = Field(2, ge=1)
    # Distinct reporters after which a work leaves feeds and listings pending review.
    report_hide_threshold: int = Field(3, ge=1)
    assets_timeout_s: float = Field(3.0, gt=0)
    # Seed suggestions ask the trainer, which may search 256 seeds per model: then the kind is left out.
    trainer_timeout_s: float = Field(15.0, gt=0)
    # `community.suggestion.created` (services/community/suggestion_announcer.py): an artist's
    # suggestions are recomputed after a like at most once per this many seconds (per replica), and
    # those at least this confident are announced once.
    suggestions_announce_interval_s: float = Field(600.0, ge=0)
    suggestions_announce_min_confidence: float = Field(0.9, ge=0, le=1)
    # Login protection (services/community/login_guard.py): free failures per (account, client),
    # per account over all clients, per client over all accounts; then exponential lock-outs.
    login_guard_enabled: bool = True
    login_pair_free_failures: int = Field(5, ge=1)
    login_account_free_failures: int = Field(20, ge=1)
    login_client_free_failures: int = Field(50, ge=1)
    login_lock_base_s: float = Field(1.0, gt=0)
    login_lock_max_s: float = Field(900.0, gt=0)
    login_failure_window_s: float = Field(3600.0, gt=0)
    login_known_client_days: float = Field(30.0, ge=0)
    # Usernames allowed to review reported works (ATELIER_MODERATORS=alice,bob).
    moderators: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("moderators", mode="before")
    @classmethod
    def _usernames(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip().lower() for name in value.split(",") if name.strip())
        return value
