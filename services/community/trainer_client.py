"""What community asks of the trainer: seeds of the artist's style models closest to their
most-liked works (`svc.trainer.models.seed_suggestions`, as the artist). Suggestions degrade, never
fail: an unreachable, slow or failing trainer gives None."""

from __future__ import annotations

from nats.aio.client import Client as NATS

from shared.contracts import trainer
from shared.contracts.trainer_seeds import SeedSuggestion
from shared.errors import AtelierError
from shared.logging import get_logger
from shared.messaging.rpc import call

log = get_logger(__name__)


class TrainerClient:
    def __init__(self, nc: NATS, timeout_s: float) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def seed_suggestions(self, user_id: str, works: list[tuple[str, int]]) -> list[SeedSuggestion] | None:
        """(work_id, likes) of the artist's most-liked works -> the trainer's closest seeds, or None."""
        try:
            reply = await call(self._nc, trainer.MODELS_SEED_SUGGESTIONS,
                               {"works": [{"work_id": w, "likes": n} for w, n in works]},
                               actor_id=user_id, timeout=self._timeout_s)
        except AtelierError as exc:
            log.warning("community.trainer.unavailable", status=exc.status, detail=exc.detail)
            return None
        return list(reply.items)
