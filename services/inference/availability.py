"""Whether a model version may still be served, and who may use a model.

`trainer.model.consent_withdrawn`: works a version was trained on lost their consent; the version
is marked `withdrawn` (new generations answer 410 saying why) and unloaded from the runtime.
`trainer.model.updated`: the owner changed the model's visibility (private: the owner only; public:
anyone signed in) or what its images' manifests say about AI training.
"""

from __future__ import annotations

import asyncpg

from services.inference import store
from services.inference.backends import GeneratorBackend
from services.inference.store import VersionRow
from shared.contracts.events.catalog import ModelConsentWithdrawn, ModelSettingsChanged
from shared.errors import Gone
from shared.logging import get_logger

log = get_logger(__name__)
REASONS = {"consent_withdrawn": "withdrew their consent to training",
           "account_consent_withdrawn": "withdrew their consent to training for their whole account",
           "work_deleted": "deleted their work", "account_deleted": "deleted their account"}


def withdrawal_text(event: ModelConsentWithdrawn) -> str:
    works = ", ".join(event.work_ids)
    return (f"version {event.version} of this model is no longer served: the author of work(s) {works} "
            f"{REASONS.get(event.reason, 'withdrew their consent')}; its owner can retrain it without them")


def check_servable(row: VersionRow) -> None:
    """410 for a withdrawn version, with the reason the trainer gave."""
    if row.status == "withdrawn":
        raise Gone(row.error or f"version {row.version} of this model is no longer served",
                   extra={"model_id": row.model_id, "version": row.version, "reason": "consent_withdrawn"})


async def on_consent_withdrawn(pool: asyncpg.Pool, backend: GeneratorBackend, event: ModelConsentWithdrawn) -> None:
    await store.withdraw_version(pool, event.model_id, event.version, event.owner_id, withdrawal_text(event))
    await backend.unload(event.model_id, event.version)
    log.info("inference.model.withdrawn", model_id=event.model_id, version=event.version, works=event.work_ids)


async def on_settings(pool: asyncpg.Pool, event: ModelSettingsChanged) -> None:
    await store.set_model_settings(pool, event.model_id, event.owner_id, event.visibility, event.training_mining)
