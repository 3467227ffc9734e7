"""Style models as the owner sees them: create (queue a training job), read, list, cancel, refine."""

from __future__ import annotations

from typing import Any, Literal

import asyncpg
from nats.aio.client import Client as NATS

from services.trainer import consent_store, store
from services.trainer.advice import Advisor
from services.trainer.events import canceled_event, job_event, queued_event
from services.trainer.seeds import SeedFinder
from services.trainer.settings import TrainerSettings
from services.trainer.store import JobRow, ModelRow, VersionRow
from services.trainer.version_files import read_directions
from shared.contracts import community
from shared.contracts.trainer import (
    LatentDirection,
    LatentDirections,
    StyleModel,
    StyleModelAccepted,
    StyleModelCreate,
    StyleModelListing,
    StyleModelListQuery,
    StyleModelRefine,
    StyleModelStep,
    StyleModelSummary,
    StyleModelVersion,
    StyleModelVersionNumber,
    StyleModelVersionRef,
    TrainingProgressView,
)
from shared.errors import BadRequest, Conflict, NotFound, TooManyRequests, Unprocessable
from shared.ids import is_ulid, new_id
from shared.logging import get_logger
from shared.messaging.rpc import call
from shared.objectstore import ObjectStore
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"
MAX_EDIT_AMOUNT = 5.0  # services/trainer/directions.MAX_AMOUNT (kept torch-free here; a unit test checks)
REASONS = {"no_consent": "its author has not allowed training on it",
           "not_found": "it does not exist or you may not see it"}


def version_view(row: VersionRow) -> StyleModelVersion:
    return StyleModelVersion(version=row.version, created_at=row.created_at, metrics=row.metrics,
                             dataset_sha256=row.dataset_sha256, steps=row.steps,
                             repository_path=row.repository_path, sample_asset_id=row.sample_asset_id)


def progress_view(job: JobRow) -> TrainingProgressView:
    return TrainingProgressView(version=job.version, kind=job.kind, step=job.step, total_steps=job.steps,
                                losses=job.losses, eta_s=job.eta_s, resumed_from_step=job.resumed_from_step,
                                checkpoint_step=job.checkpoint_step, attempts=job.attempts,
                                cancel_requested=job.cancel_requested)


def model_view(model: ModelRow, job: JobRow | None, versions: list[VersionRow], samples: list[str]) -> StyleModel:
    return StyleModel(
        id=model.id, name=model.name, owner_id=model.owner_id, architecture=model.architecture,
        image_size=model.image_size, width=model.width,
        status=job.status if job is not None else "queued", error=job.error if job is not None else None,
        work_ids=list(model.work_ids), collection_id=model.collection_id, created_at=model.created_at,
        progress=progress_view(job) if job is not None else None,
        versions=[version_view(v) for v in versions],
        latest_version=versions[-1].version if versions else None, samples=samples,
    )


def summary_view(row: store.ModelListRow) -> StyleModelSummary:
    return StyleModelSummary(
        id=row.id, name=row.name, architecture=row.architecture, image_size=row.image_size,
        status=row.status or "queued", created_at=row.created_at,
        progress=StyleModelStep(step=row.step, total_steps=row.total_steps),
        versions=[StyleModelVersionNumber(version=v, status="consent_withdrawn" if v in row.withdrawn_versions
                                          else "active") for v in row.version_numbers],
        latest_version=row.version_numbers[-1] if row.version_numbers else None)



async def check_training_limit(conn: asyncpg.Connection, settings: TrainerSettings, owner_id: str) -> None:
    """At most `trainer_max_active_jobs` jobs per user queued or running (call under `lock_owner`):
    a 429 with Retry-After and the limit."""
    active = await store.active_jobs(conn, owner_id)
    limit = settings.trainer_max_active_jobs
    if active >= limit:
        raise TooManyRequests(
            f"you already have {active} training jobs queued or running (at most {limit}); "
            "wait for one to finish or cancel one",
            extra={"active_jobs": active, "limit": limit, "quota": "training_jobs",
                   "retry_after_s": settings.trainer_limit_retry_after_s})

class ModelService:
    def __init__(self, settings: TrainerSettings, pool: asyncpg.Pool, nc: NATS,
                 objects: ObjectStore | None = None) -> None:
        self.settings, self.pool, self.nc, self.objects = settings, pool, nc, objects
        self.advisor: Advisor | None = None  # set by the app, which owns the HTTP session it downloads with
        self.seeds: SeedFinder | None = None  # set by the app

    async def _check_limit(self, conn: asyncpg.Connection, owner_id: str) -> None:
        await check_training_limit(conn, self.settings, owner_id)

    def _check_config(self, image_size: int, steps: int) -> None:
        if image_size > self.settings.max_image_size:
            raise Unprocessable(f"{image_size} px models need a GPU, which this platform does not have",
                                errors=[{"field": "image_size", "message": f"at most {self.settings.max_image_size}"}])
        if steps > self.settings.trainer_max_steps:
            raise Unprocessable("too many steps", errors=[
                {"field": "steps", "message": f"at most {self.settings.trainer_max_steps}"}])

    async def create(self, actor_id: str, body: StyleModelCreate, idempotency_key: str | None) -> StyleModel:
        self._check_config(body.image_size, body.steps)
        if idempotency_key and (found := await store.model_by_idempotency_key(self.pool, actor_id, idempotency_key)):
            return await self.get(actor_id, found.id)
        source = {"work_ids": body.work_ids} if body.work_ids is not None else {"collection_id": body.collection_id}
        found_set = await call(self.nc, community.WORKS_TRAINING_SET, source, actor_id=actor_id,
                               timeout=self.settings.community_timeout_s)
        if found_set.refused:
            reasons: dict[str, str] = dict(found_set.reasons)
            raise Unprocessable(
                f"{len(found_set.refused)} of these works cannot be used for training: "
                + ", ".join(found_set.refused),
                errors=[{"field": "work_ids", "work_id": w, "reason": reasons.get(w, "refused"),
                         "message": f"work {w}: {REASONS.get(reasons.get(w, ''), 'refused')}"}
                        for w in found_set.refused],
                extra={"refused": found_set.refused})
        works = found_set.works
        asset_ids = list(dict.fromkeys(a for w in works for a in w.asset_ids))
        if not asset_ids:
            raise Unprocessable("the training set is empty: choose works with images")
        if len(asset_ids) > self.settings.trainer_max_dataset_images:
            raise Unprocessable(f"at most {self.settings.trainer_max_dataset_images} images per model")
        model: dict[str, Any] = {
                 "id": new_id(), "owner_id": actor_id, "name": body.name, "architecture": body.architecture,
                 "image_size": body.image_size, "width": body.width or self.settings.trainer_default_width,
                 "work_ids": [w.id for w in works], "collection_id": body.collection_id,
                 "asset_ids": asset_ids, "idempotency_key": idempotency_key, "licence": body.licence,
                 "licence_terms": body.licence_terms, "commercial_use": body.commercial_use}
        job = {"id": new_id(), "model_id": model["id"], "owner_id": actor_id, "version": 1, "kind": "train",
               "steps": body.steps, "batch_size": body.batch_size, "augment": body.augment, "seed": body.seed}
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_owner(conn, actor_id)
            if idempotency_key and (found := await store.model_by_idempotency_key(conn, actor_id, idempotency_key)):
                model["id"] = found.id
            else:
                await self._check_limit(conn, actor_id)
                created = await store.insert_model(conn, model)
                await consent_store.insert_model_works(conn, created.id, [(w.id, w.author_id, w.asset_ids)
                                                                          for w in works])
                queued = await store.insert_job(conn, job)
                await enqueue(conn, SCHEMA, queued_event(created, queued))
                await enqueue(conn, SCHEMA, job_event(queued))
                log.info("trainer.model.queued", model_id=model["id"], images=len(asset_ids), steps=body.steps)
        return await self.get(actor_id, str(model["id"]))

    async def _own(self, conn: store.Conn, actor_id: str, model_id: str) -> ModelRow:
        model = await store.get_model(conn, model_id)
        if model is None or model.owner_id != actor_id:
            raise NotFound(f"no model {model_id!r}")
        return model

    async def get(self, actor_id: str, model_id: str) -> StyleModel:
        model = await self._own(self.pool, actor_id, model_id)
        return model_view(model, await store.latest_job(self.pool, model_id),
                          await store.versions(self.pool, model_id), await store.sample_ids(self.pool, model_id))

    async def directions(self, actor_id: str, ref: StyleModelVersionRef) -> LatentDirections:
        """The owner's, or a public model's (anyone may generate from it, edit mode included)."""
        model = await store.get_model(self.pool, ref.id)
        if model is None or not (model.owner_id == actor_id or model.visibility == "public"):
            raise NotFound(f"no model {ref.id!r}")
        row = next((v for v in await store.versions(self.pool, ref.id) if v.version == ref.version), None)
        if row is None:
            raise NotFound(f"model {ref.id!r} has no trained version {ref.version}")
        found = await read_directions(self.objects, row.repository_path) if self.objects is not None else None
        return LatentDirections(model_id=ref.id, version=ref.version, max_amount=MAX_EDIT_AMOUNT, directions=[
            LatentDirection(id=d["id"], label=d["label"], variance_share=d["variance_share"]) for d in found or []])

    async def list_mine(self, actor_id: str, query: StyleModelListQuery) -> StyleModelListing:
        if query.cursor is not None and not is_ulid(query.cursor):
            raise BadRequest("the cursor is not valid: pass the next_cursor of a previous page")
        rows = await store.list_models(self.pool, actor_id, query.limit, query.cursor)
        return StyleModelListing(items=[summary_view(r) for r in rows],
                                 next_cursor=rows[-1].id if len(rows) == query.limit else None)

    async def cancel(self, actor_id: str, model_id: str) -> StyleModelAccepted:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._own(conn, actor_id, model_id)
            latest = await store.latest_job(conn, model_id)
            job = await store.get_job(conn, latest.id, for_update=True) if latest is not None else None
            if job is None or job.status not in store.ACTIVE:
                raise Conflict(f"nothing to cancel: the model is {job.status if job else 'unknown'}")
            status: Literal["canceled", "canceling"]
            if job.status == "queued":
                # Not started: cancel now; the worker skips the job when its message arrives.
                await store.finish(conn, job.id, "canceled")
                await enqueue(conn, SCHEMA, canceled_event(job, job.step))
                status = "canceled"
            else:
                await store.request_cancel(conn, job.id)
                status = "canceling"
        log.info("trainer.cancel.requested", model_id=model_id, job_id=job.id, status=status)
        return StyleModelAccepted(id=model_id, status=status, version=job.version)

    async def refine(self, actor_id: str, body: StyleModelRefine) -> StyleModelAccepted:
        self._check_config(0, body.steps)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_owner(conn, actor_id)
            model = await self._own(conn, actor_id, body.id)
            latest = await store.latest_job(conn, model.id)
            if latest is not None and latest.status in store.ACTIVE:
                raise Conflict("this model is already training; wait for it or cancel it first")
            base = await store.latest_version(conn, model.id)
            if base is None:
                raise Conflict("this model has no trained version to refine yet")
            await self._check_limit(conn, actor_id)
            base_job = await store.get_job(conn, base.job_id)
            assert base_job is not None
            job = await store.insert_job(conn, {
                "id": new_id(), "model_id": model.id, "owner_id": actor_id,
                "version": await store.next_version(conn, model.id), "kind": "refine",
                "base_version": base.version, "steps": body.steps, "batch_size": base_job.batch_size,
                "augment": base_job.augment, "seed": base_job.seed, "min_score": body.min_score})
            await enqueue(conn, SCHEMA, queued_event(model, job))
            await enqueue(conn, SCHEMA, job_event(job))
        log.info("trainer.refine.queued", model_id=model.id, version=job.version, base=base.version)
        return StyleModelAccepted(id=model.id, status="queued", version=job.version)
