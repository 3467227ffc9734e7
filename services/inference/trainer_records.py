"""The trainer's record of a model, asked for only in the window its `trainer.model.trained` event
has not reached this service yet: the user was told the version is trained (by that event on the
WebSocket, or by the trainer's own record), so a generation request for it must not get "not trained
yet". The answer is the caller's view (`svc.trainer.models.get` as that user): their own models only.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client as NATS

from shared.contracts import trainer
from shared.errors import AtelierError
from shared.logging import get_logger
from shared.messaging.rpc import call

log = get_logger(__name__)


@dataclass(frozen=True)
class TrainedVersion:
    model_id: str
    owner_id: str
    version: int
    architecture: str
    image_size: int
    repository_path: str
    metrics: dict[str, object]


class TrainerRecords:
    def __init__(self, nc: NATS, timeout_s: float) -> None:
        self.nc = nc
        self.timeout_s = timeout_s

    async def trained(self, actor_id: str, model_id: str, version: int | None) -> TrainedVersion | None:
        """`version` (or the latest) if the trainer's record says it is trained; None when it does not
        or cannot say (unknown to the caller, not trained, the trainer unreachable)."""
        try:
            model = await call(self.nc, trainer.MODELS_GET, {"id": model_id}, actor_id=actor_id,
                               timeout=self.timeout_s)
        except AtelierError as exc:  # 404 (not the caller's), 503/504 (unreachable): no better answer
            log.info("inference.trainer_record.unavailable", model_id=model_id, status=exc.status)
            return None
        versions = [v for v in model.versions if version is None or v.version == version]
        if not versions:
            return None
        found = max(versions, key=lambda v: v.version)
        return TrainedVersion(model_id=model.id, owner_id=model.owner_id, version=found.version,
                              architecture=model.architecture, image_size=model.image_size,
                              repository_path=found.repository_path, metrics=dict(found.metrics))
