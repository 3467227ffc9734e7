"""The models this service serves: what the trainer announced, who may use them, and loading them.

Model records come from trainer events only (`trainer.model.queued` / `trainer.model.trained`), so
the service answers "unknown" (404), "not yours" (404) and "not trained yet" (409) without asking
the trainer — except in the window after the trainer recorded a version as trained and before its
event reached this service: a request for a version not known to be ready here asks the trainer's
record (`trainer_records.py`), and a version it says is trained is accepted and loaded on first use.
Loading into the runtime happens when a version is announced and again, on demand,
when a generation needs a version that the LRU unloaded meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import asyncpg

from services.inference import store
from services.inference.availability import check_servable
from services.inference.backends import GeneratorBackend, InvalidModel
from services.inference.model_repository import ModelFilesMissing, ModelRepository
from services.inference.store import VersionRow
from services.inference.trainer_records import TrainerRecords
from shared.contracts.events.catalog import ModelQueued, ModelTrained, TrainingCanceled, TrainingFailed
from shared.contracts.triton import ONNX_FILE, repository_path
from shared.errors import Conflict, NotFound
from shared.logging import get_logger
from shared.messaging.consumer import Retry

log = get_logger(__name__)


class ModelUnservable(Exception):
    """The exported files of a version are missing or break the export contract."""


def visibility_from_event(data: dict[str, Any]) -> str | None:
    """`visibility` ("public"/"private") or `public` (bool) when the trainer sends them; else None."""
    value = data.get("visibility")
    if value in ("public", "private"):
        return str(value)
    if isinstance(data.get("public"), bool):
        return "public" if data["public"] else "private"
    return None


class ModelCatalog:
    def __init__(self, pool: asyncpg.Pool, backend: GeneratorBackend, repository: ModelRepository,
                 trainer: TrainerRecords | None = None) -> None:
        self.pool = pool
        self.backend = backend
        self.repository = repository
        self.trainer = trainer
        self._loading: dict[tuple[str, int], asyncio.Lock] = {}

    async def resolve(self, actor_id: str, model_id: str, version: int | None) -> VersionRow:
        """The version row a request of `actor_id` will use; 404 unknown or not visible, 409 not ready."""
        try:
            return await self._resolve_known(actor_id, model_id, version)
        except (NotFound, Conflict) as refused:
            caught = await self._trained_meanwhile(actor_id, model_id, version)
            if caught is None:
                raise refused from None
            return caught

    async def _trained_meanwhile(self, actor_id: str, model_id: str, version: int | None) -> VersionRow | None:
        """The version, if the trainer's record says it is trained while its event is still on the way."""
        if self.trainer is None:
            return None
        if version is not None:
            known = await store.get_version(self.pool, model_id, version)
            if known is not None and known.status == "failed":
                return None  # found unservable here: the trainer's record cannot help
        trained = await self.trainer.trained(actor_id, model_id, version)
        if trained is None or trained.owner_id != actor_id:
            return None
        async with self.pool.acquire() as conn, conn.transaction():
            await store.upsert_model(conn, model_id, trained.owner_id, None)
            recorded = await store.record_trained_version(conn, {
                "model_id": model_id, "version": trained.version, "architecture": trained.architecture,
                "image_size": trained.image_size, "repository_path": trained.repository_path,
                "metrics": trained.metrics})
        row = await store.get_version(self.pool, model_id, trained.version)
        if row is None or row.status != "ready":
            return None
        if recorded:
            log.info("inference.model.trained_before_event", model_id=model_id, version=trained.version)
        return row

    async def _resolve_known(self, actor_id: str, model_id: str, version: int | None) -> VersionRow:
        model = await store.get_model(self.pool, model_id)
        if model is None or (model.owner_id != actor_id and model.visibility != "public"):
            raise NotFound(f"no model {model_id!r}")
        if version is None:
            row = await store.latest_ready_version(self.pool, model_id)
            if row is None:
                latest = await store.latest_version(self.pool, model_id)
                if latest is not None:
                    check_servable(latest)
                if latest is not None and latest.status == "failed":
                    raise Conflict(f"this model has no servable version: {latest.error or 'training failed'}",
                                   extra={"model_id": model_id})
                raise Conflict("this model has no trained version yet", extra={"model_id": model_id})
            return row
        row = await store.get_version(self.pool, model_id, version)
        if row is None:
            raise NotFound(f"model {model_id!r} has no version {version}")
        check_servable(row)
        if row.status != "ready":
            detail = "is not ready yet (training or loading)" if row.status == "training" else "cannot be served"
            raise Conflict(f"version {version} of this model {detail}", extra={"model_id": model_id})
        return row

    async def ensure_loaded(self, model_id: str, version: int, path: str) -> None:
        """Load (model_id, version) into the runtime unless it is; concurrent callers share one load."""
        if self.backend.is_loaded(model_id, version):
            return
        lock = self._loading.setdefault((model_id, version), asyncio.Lock())
        async with lock:
            if self.backend.is_loaded(model_id, version):
                return
            try:
                files = await self.repository.fetch(path)
                await self.backend.load(model_id, version, files)
            except (ModelFilesMissing, InvalidModel) as exc:
                raise ModelUnservable(str(exc)) from exc
            log.info("inference.model.loaded", model_id=model_id, version=version,
                     loaded=len(self.backend.loaded()))

    async def on_queued(self, event: ModelQueued) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await store.upsert_model(conn, event.model_id, event.owner_id, None)
            await store.insert_training_version(conn, {
                "model_id": event.model_id, "version": event.version, "architecture": event.architecture,
                "image_size": event.image_size, "repository_path": repository_path(event.model_id, event.version),
            })

    async def on_trained(self, event: ModelTrained, data: dict[str, Any], *, preload: bool = True) -> None:
        """Load the new version (other versions keep serving meanwhile), then mark it ready.

        `preload` False (an old event replayed, e.g. by a fresh deployment): only check that the
        export exists; the version is loaded when first asked for, not all history at start-up.
        """
        row: dict[str, Any] = {
            "model_id": event.model_id, "version": event.version, "architecture": event.architecture,
            "image_size": event.image_size, "repository_path": event.repository_path, "metrics": event.metrics,
        }
        async with self.pool.acquire() as conn, conn.transaction():
            await store.upsert_model(conn, event.model_id, event.owner_id, visibility_from_event(data))
            await store.insert_training_version(conn, row)
            await store.set_version_dataset(conn, event.model_id, event.version, event.dataset_sha256)
            if "training_mining" in data:
                await store.set_model_settings(conn, event.model_id, event.owner_id,
                                               visibility_from_event(data) or "private", event.training_mining)
        if (known := await store.get_version(self.pool, event.model_id, event.version)) and known.status == "withdrawn":
            return  # consent was withdrawn: never load it
        try:
            if preload:
                await self.ensure_loaded(event.model_id, event.version, event.repository_path)
            elif not await self.repository.exists(event.repository_path):
                raise ModelUnservable(f"{event.repository_path}{ONNX_FILE} does not exist")
        except ModelUnservable as exc:
            log.warning("inference.model.unservable", model_id=event.model_id, version=event.version, error=str(exc))
            await store.upsert_version(self.pool, {**row, "status": "failed", "error": str(exc)[:500]})
            return
        await store.upsert_version(self.pool, {**row, "status": "ready"})
        log.info("inference.model.ready", model_id=event.model_id, version=event.version)

    async def on_training_ended(self, event: TrainingFailed | TrainingCanceled) -> None:
        """A version whose training failed or was canceled will never be served: say so (409)."""
        reason = (f"training failed: {event.error}" if isinstance(event, TrainingFailed)
                  else "training was canceled")
        if await store.get_version(self.pool, event.model_id, event.version) is None:
            # The queued event travels on another consumer (and replicas run in parallel): wait for it.
            raise Retry("the version is not known yet", delay_s=1.0)
        await self.mark_failed(event.model_id, event.version, reason)

    async def mark_failed(self, model_id: str, version: int, error: str) -> None:
        row = await store.get_version(self.pool, model_id, version)
        if row is not None:
            await store.upsert_version(self.pool, {**asdict(row), "status": "failed", "error": error[:500]})
