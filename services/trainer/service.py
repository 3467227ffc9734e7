"""Style models as the owner sees them: create (queue a training job), read, list, cancel, refine."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS

from services.trainer import store
from services.trainer.events import canceled_event, job_event, queued_event
from services.trainer.schemas import ListQuery, ModelCreate, RefineRequest
from services.trainer.settings import TrainerSettings
from shared.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from shared.ids import new_id
from shared.logging import get_logger
from shared.messaging.rpc import rpc_call
from shared.outbox import enqueue

log = get_logger(__name__)
SCHEMA = "trainer"
REASONS = {"no_consent": "its author has not allowed training on it",
           "not_found": "it does not exist or you may not see it"}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def version_view(row: asyncpg.Record) -> dict[str, Any]:
    return {"version": row["version"], "created_at": row["created_at"], "metrics": _json(row["metrics"]),
            "dataset_sha256": row["dataset_sha256"], "steps": row["steps"],
            "repository_path": row["repository_path"], "sample_asset_id": row["sample_asset_id"]}


def model_view(model: asyncpg.Record, job: asyncpg.Record | None, versions: list[asyncpg.Record],
               samples: list[str]) -> dict[str, Any]:
    progress = None
    if job is not None:
        progress = {"version": job["version"], "kind": job["kind"], "step": job["step"], "total_steps": job["steps"],
                    "losses": _json(job["losses"]), "eta_s": job["eta_s"],
                    "resumed_from_step": job["resumed_from_step"], "checkpoint_step": job["checkpoint_step"],
                    "attempts": job["attempts"], "cancel_requested": job["cancel_requested"]}
    return {
        "id": model["id"], "name": model["name"], "owner_id": model["owner_id"],
        "architecture": model["architecture"], "image_size": model["image_size"], "width": model["width"],
        "status": job["status"] if job is not None else "queued", "error": job["error"] if job is not None else None,
        "work_ids": list(model["work_ids"]), "collection_id": model["collection_id"],
        "created_at": model["created_at"], "progress": progress,
        "versions": [version_view(v) for v in versions],
        "latest_version": versions[-1]["version"] if versions else None, "samples": samples,
    }


class ModelService:
    def __init__(self, settings: TrainerSettings, pool: asyncpg.Pool, nc: NATS) -> None:
        self.settings, self.pool, self.nc = settings, pool, nc

    async def _check_limit(self, conn: asyncpg.Connection, owner_id: str) -> None:
        active = await store.active_jobs(conn, owner_id)
        limit = self.settings.trainer_max_active_jobs
        if active >= limit:
            raise TooManyRequests(
                f"you already have {active} training jobs queued or running (at most {limit}); "
                "wait for one to finish or cancel one", extra={"active_jobs": active, "limit": limit})

    def _check_config(self, image_size: int, steps: int) -> None:
        if image_size > self.settings.max_image_size:
            raise Unprocessable(f"{image_size} px models need a GPU, which this platform does not have",
                                errors=[{"field": "image_size", "message": f"at most {self.settings.max_image_size}"}])
        if steps > self.settings.trainer_max_steps:
            raise Unprocessable("too many steps", errors=[
                {"field": "steps", "message": f"at most {self.settings.trainer_max_steps}"}])

    async def create(self, actor_id: str, body: ModelCreate, idempotency_key: str | None) -> dict[str, Any]:
        self._check_config(body.image_size, body.steps)
        if idempotency_key and (found := await store.model_by_idempotency_key(self.pool, actor_id, idempotency_key)):
            return await self.get(actor_id, found["id"])
        source = {"work_ids": body.work_ids} if body.work_ids is not None else {"collection_id": body.collection_id}
        found_set = await rpc_call(self.nc, "community", "works.training_set", source, actor_id=actor_id,
                                   timeout=self.settings.community_timeout_s)
        if found_set["refused"]:
            reasons = found_set.get("reasons") or {}
            raise Unprocessable(
                f"{len(found_set['refused'])} of these works cannot be used for training: "
                + ", ".join(found_set["refused"]),
                errors=[{"field": "work_ids", "work_id": w, "reason": reasons.get(w, "refused"),
                         "message": f"work {w}: {REASONS.get(reasons.get(w, ''), 'refused')}"}
                        for w in found_set["refused"]],
                extra={"refused": found_set["refused"]})
        works = found_set["works"]
        asset_ids = list(dict.fromkeys(a for w in works for a in w["asset_ids"]))
        if not asset_ids:
            raise Unprocessable("the training set is empty: choose works with images")
        if len(asset_ids) > self.settings.trainer_max_dataset_images:
            raise Unprocessable(f"at most {self.settings.trainer_max_dataset_images} images per model")
        model: dict[str, Any] = {
                 "id": new_id(), "owner_id": actor_id, "name": body.name, "architecture": body.architecture,
                 "image_size": body.image_size, "width": body.width or self.settings.trainer_default_width,
                 "work_ids": [w["id"] for w in works], "collection_id": body.collection_id,
                 "asset_ids": asset_ids, "idempotency_key": idempotency_key}
        job = {"id": new_id(), "model_id": model["id"], "owner_id": actor_id, "version": 1, "kind": "train",
               "steps": body.steps, "batch_size": body.batch_size, "augment": body.augment, "seed": body.seed}
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_owner(conn, actor_id)
            if idempotency_key and (found := await store.model_by_idempotency_key(conn, actor_id, idempotency_key)):
                model["id"] = found["id"]
            else:
                await self._check_limit(conn, actor_id)
                await store.insert_model(conn, model)
                await store.insert_job(conn, job)
                await enqueue(conn, SCHEMA, queued_event(model, job))
                await enqueue(conn, SCHEMA, job_event(job))
                log.info("trainer.model.queued", model_id=model["id"], images=len(asset_ids), steps=body.steps)
        return await self.get(actor_id, str(model["id"]))

    async def _own(self, conn: Any, actor_id: str, model_id: str) -> asyncpg.Record:
        model = await store.get_model(conn, model_id)
        if model is None or model["owner_id"] != actor_id:
            raise NotFound(f"no model {model_id!r}")
        return model

    async def get(self, actor_id: str, model_id: str) -> dict[str, Any]:
        model = await self._own(self.pool, actor_id, model_id)
        return model_view(model, await store.latest_job(self.pool, model_id),
                          await store.versions(self.pool, model_id), await store.sample_ids(self.pool, model_id))

    async def list_mine(self, actor_id: str, query: ListQuery) -> dict[str, Any]:
        rows = await store.list_models(self.pool, actor_id, query.limit, query.cursor)
        items = [{"id": r["id"], "name": r["name"], "architecture": r["architecture"], "image_size": r["image_size"],
                  "status": r["status"] or "queued", "created_at": r["created_at"],
                  "progress": {"step": r["step"], "total_steps": r["total_steps"]},
                  "versions": [{"version": v} for v in r["version_numbers"]],
                  "latest_version": r["version_numbers"][-1] if r["version_numbers"] else None} for r in rows]
        return {"items": items, "next_cursor": rows[-1]["id"] if len(rows) == query.limit else None}

    async def cancel(self, actor_id: str, model_id: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._own(conn, actor_id, model_id)
            latest = await store.latest_job(conn, model_id)
            job = await store.get_job(conn, latest["id"], for_update=True) if latest is not None else None
            if job is None or job["status"] not in store.ACTIVE:
                raise Conflict(f"nothing to cancel: the model is {job['status'] if job else 'unknown'}")
            if job["status"] == "queued":
                # Not started: cancel now; the worker skips the job when its message arrives.
                await store.finish(conn, job["id"], "canceled")
                await enqueue(conn, SCHEMA, canceled_event(job, job["step"]))
                status = "canceled"
            else:
                await store.request_cancel(conn, job["id"])
                status = "canceling"
        log.info("trainer.cancel.requested", model_id=model_id, job_id=job["id"], status=status)
        return {"id": model_id, "status": status, "version": job["version"]}

    async def refine(self, actor_id: str, body: RefineRequest) -> dict[str, Any]:
        self._check_config(0, body.steps)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_owner(conn, actor_id)
            model = await self._own(conn, actor_id, body.id)
            latest = await store.latest_job(conn, model["id"])
            if latest is not None and latest["status"] in store.ACTIVE:
                raise Conflict("this model is already training; wait for it or cancel it first")
            base = await store.latest_version(conn, model["id"])
            if base is None:
                raise Conflict("this model has no trained version to refine yet")
            await self._check_limit(conn, actor_id)
            base_job = await store.get_job(conn, base["job_id"])
            assert base_job is not None
            job = {"id": new_id(), "model_id": model["id"], "owner_id": actor_id,
                   "version": await store.next_version(conn, model["id"]), "kind": "refine",
                   "base_version": base["version"], "steps": body.steps, "batch_size": base_job["batch_size"],
                   "augment": base_job["augment"], "seed": base_job["seed"], "min_score": body.min_score}
            await store.insert_job(conn, job)
            await enqueue(conn, SCHEMA, queued_event(model, job))
            await enqueue(conn, SCHEMA, job_event(job))
        log.info("trainer.refine.queued", model_id=model["id"], version=job["version"], base=base["version"])
        return {"id": model["id"], "status": "queued", "version": job["version"]}
