"""The generations domain: accept requests, show them, rate and publish outputs, verify provenance."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import secrets
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from nats.aio.client import Client as NATS

from services.inference import latents, store, watermark
from services.inference.catalog import ModelCatalog
from services.inference.events import enqueue_canceled, enqueue_generate_job
from services.inference.provenance import ProvenanceError, Verifier
from services.inference.settings import InferenceSettings
from services.inference.store import GenerationRow, OutputRow
from shared.contracts import community, market
from shared.contracts.inference import (
    GenerationCreate,
    GenerationListQuery,
    OutputPublishRequest,
    OutputRatingRequest,
    ProvenanceVerifyRequest,
    RatingsTopRequest,
)
from shared.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, TooManyRequests, Unprocessable
from shared.ids import is_ulid, new_id
from shared.logging import get_logger
from shared.messaging.rpc import call, call_raw

log = get_logger(__name__)
PARAM_FIELDS = ("truncation", "base_seed", "target_seed", "strength", "direction", "amount")
UNFINISHED = ("queued", "running")
RETRY_AFTER_UNMEASURED_S = 5


def request_params(body: GenerationCreate) -> dict[str, Any]:
    """The mode parameters as recorded and signed (absent ones left out)."""
    return {k: getattr(body, k) for k in PARAM_FIELDS if getattr(body, k) is not None}


def generation_view(row: GenerationRow, outputs: list[OutputRow]) -> dict[str, Any]:
    """A generation as `shared.contracts.inference.Generation` describes it (`error` only when failed)."""
    view: dict[str, Any] = {
        "id": row.id, "status": row.status, "model_id": row.model_id, "version": row.version,
        "mode": row.mode, "count": row.count, "seed": row.seed, "params": row.params,
        "outputs": [{"index": o.index, "asset_id": o.asset_id, "seed": o.seed,
                     "image_sha256": o.image_sha256, "width": o.width, "height": o.height,
                     "score": o.score, "content_url": f"/v1/assets/{o.asset_id}/content",
                     "originality": o.originality}
                    for o in outputs],
        "created_at": row.created_at, "finished_at": row.finished_at,
    }
    if row.error:
        view["error"] = row.error
    return view


@dataclass
class InferenceService:
    settings: InferenceSettings
    pool: asyncpg.Pool
    nc: NATS
    catalog: ModelCatalog
    verifier: Verifier
    executor: Executor

    # -- requests --------------------------------------------------------------------------------

    async def create(self, actor_id: str, body: GenerationCreate, idempotency_key: str | None) -> dict[str, Any]:
        if idempotency_key:
            earlier = await store.generation_by_idempotency_key(self.pool, actor_id, idempotency_key)
            if earlier is not None:
                return {"id": earlier.id, "status": earlier.status}
        version = await self.catalog.resolve(actor_id, body.model_id, body.version)
        seed = body.seed if body.seed is not None else secrets.randbelow(latents.SEED_LIMIT)
        directions = await self.catalog.repository.directions(version.repository_path) \
            if body.mode == "edit" else None
        try:  # checks every parameter against the mode now, not in the worker
            latents.latents_for_request(body.mode, count=body.count, seed=seed, directions=directions,
                                        **request_params(body))
        except latents.LatentParameterError as exc:
            raise Unprocessable("the generation parameters are not valid",
                                errors=[{"field": exc.field, "message": exc.message}]) from None
        generation_id = new_id()
        row = {
            "id": generation_id, "owner_id": actor_id, "model_id": body.model_id, "version": version.version,
            "mode": body.mode, "count": body.count, "seed": seed, "params": request_params(body),
            "watermark_id": watermark.format_short_id(watermark.short_id(generation_id))
            if watermark.can_embed(version.image_size, version.image_size) else None,
            "idempotency_key": idempotency_key,
        }
        model = await store.get_model(self.pool, body.model_id)
        pays = model is not None and model.owner_id != actor_id
        reserve = {"generation_id": generation_id, "payer_id": actor_id, "model_id": body.model_id,
                   "version": version.version, "count": body.count}
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await store.lock_owner(conn, actor_id)  # concurrent requests of one user count one by one
                await self._within_limit(conn, actor_id)
                await store.insert_generation(conn, row)
                await enqueue_generate_job(conn, generation_id, actor_id, body.count)
                if pays:  # someone else's model: the market holds its price (402 when short) before commit
                    await call(self.nc, market.RESERVATIONS_CREATE, reserve, timeout=self.settings.market_timeout_s)
        except asyncpg.UniqueViolationError:  # the same Idempotency-Key raced in twice
            assert idempotency_key is not None
            earlier = await store.generation_by_idempotency_key(self.pool, actor_id, idempotency_key)
            if earlier is None:
                raise
            return {"id": earlier.id, "status": earlier.status}
        except BaseException:
            if pays:  # the reservation may have been made and the commit failed: give it back
                await self._release_quietly(generation_id)
            raise
        log.info("inference.generation.queued", generation_id=generation_id, model_id=body.model_id,
                 version=version.version, count=body.count, mode=body.mode)
        return {"id": generation_id, "status": "queued"}

    async def _release_quietly(self, generation_id: str) -> None:
        try:
            await call(self.nc, market.RESERVATIONS_RELEASE, {"generation_id": generation_id},
                       timeout=self.settings.market_timeout_s)
        except Exception as exc:  # market unreachable: the reservation stays held, logged for an operator
            log.warning("inference.reservation.release_failed", generation_id=generation_id, error=str(exc))

    async def _within_limit(self, conn: asyncpg.Connection, actor_id: str) -> None:
        limit = self.settings.generations_max_queued_per_user
        unfinished = await store.unfinished_of(conn, actor_id)
        if unfinished < limit:
            return
        per_image = await store.seconds_per_image(conn)
        # About when a few images of the user's will have been made; 5 s before anything was timed.
        retry_after = (RETRY_AFTER_UNMEASURED_S if per_image is None
                       else min(60, max(1, math.ceil(per_image * 4))))
        raise TooManyRequests(
            f"you have {unfinished} generations queued or running, the most at once is {limit}; "
            f"retry in {retry_after} s or cancel one", headers={"Retry-After": str(retry_after)},
            extra={"limit": limit, "queued": unfinished, "retry_after_s": retry_after})

    async def get(self, actor_id: str, generation_id: str) -> dict[str, Any]:
        row = await self._own(actor_id, generation_id)
        outputs = await store.outputs_of(self.pool, [generation_id])
        view = generation_view(row, outputs)
        if row.status in UNFINISHED:
            view.update(await self._queue_view(row, len(outputs)))
        return view

    async def _queue_view(self, row: GenerationRow, made: int) -> dict[str, Any]:
        """Queue position (while queued) and ETA (queued or running); see `Generation.eta_s`.

        ETA = seconds per image (wall time of the last 50 generations that succeeded in the past hour,
        over their images) * (the images still to make ahead of it, divided among the jobs that run
        at once, plus its own missing ones), less the time it has already been running.
        """
        per_image = await store.seconds_per_image(self.pool)
        view: dict[str, Any] = {}
        ahead_images = 0
        if row.status == "queued":
            ahead = await store.queue_ahead(self.pool, row.id)
            view["queue_position"] = ahead.generations + 1
            ahead_images = ahead.images
        if per_image is not None:
            parallel = max(1, self.settings.inference_workers)
            eta = per_image * (ahead_images / parallel + (row.count - made))
            if row.status == "running" and row.started_at is not None:
                running_for = (datetime.now(UTC) - row.started_at).total_seconds()
                eta = max(eta - running_for, per_image * min(1, row.count - made))
            view["eta_s"] = round(eta, 2)
        return view

    async def cancel(self, actor_id: str, generation_id: str) -> dict[str, Any]:
        """Queued: canceled at once (its job is acked unworked). Running: the worker makes no more outputs."""
        await self._own(actor_id, generation_id)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.lock_generation(conn, generation_id)  # waits for an output being recorded
            assert row is not None
            if row.status not in UNFINISHED or not await store.cancel_generation(conn, generation_id):
                raise Conflict(f"this generation has already {row.status}", extra={"generation_status": row.status})
            made = len(await store.outputs_of(conn, [generation_id]))
            await enqueue_canceled(conn, row, made)
        log.info("inference.generation.canceled", generation_id=generation_id, was=row.status, outputs_made=made)
        return {"id": generation_id, "status": "canceled", "outputs_made": made}

    async def list_mine(self, actor_id: str, query: GenerationListQuery) -> dict[str, Any]:
        if query.cursor is not None and not is_ulid(query.cursor):
            raise BadRequest("the cursor is not valid")
        rows = await store.list_generations(self.pool, actor_id, query.cursor, query.limit + 1)
        page = rows[: query.limit]
        outputs = await store.outputs_of(self.pool, [r.id for r in page])
        by_generation: dict[str, list[OutputRow]] = {}
        for o in outputs:
            by_generation.setdefault(o.generation_id, []).append(o)
        return {"items": [generation_view(r, by_generation.get(r.id, [])) for r in page],
                "next_cursor": page[-1].id if len(rows) > query.limit else None}

    async def _own(self, actor_id: str, generation_id: str) -> GenerationRow:
        row = await store.get_generation(self.pool, generation_id) if is_ulid(generation_id) else None
        if row is None or row.owner_id != actor_id:
            raise NotFound(f"no generation {generation_id!r}")
        return row

    async def _own_output(self, actor_id: str, generation_id: str, index: int) -> tuple[GenerationRow, OutputRow]:
        row = await self._own(actor_id, generation_id)
        output = next((o for o in await store.outputs_of(self.pool, [generation_id]) if o.index == index), None)
        if output is None:
            if row.status in ("queued", "running") and index < row.count:
                raise Conflict("this generation has not finished yet")
            raise NotFound(f"generation {generation_id!r} has no output {index}")
        return row, output

    # -- feedback and publishing -----------------------------------------------------------------

    async def rate(self, actor_id: str, body: OutputRatingRequest) -> None:
        await self._own_output(actor_id, body.id, body.index)
        await store.rate_output(self.pool, body.id, body.index, body.score)

    async def top_rated(self, body: RatingsTopRequest) -> list[dict[str, Any]]:
        """The model owner's best-rated outputs of this model (refine trains on them)."""
        model = await store.get_model(self.pool, body.model_id)
        if model is None:
            raise NotFound(f"no model {body.model_id!r}")
        rows = await store.top_rated(self.pool, body.model_id, model.owner_id, body.min_score, body.limit)
        return [asdict(r) for r in rows]

    async def publish(self, actor_id: str, body: OutputPublishRequest, idempotency_key: str | None,
                      ) -> dict[str, Any]:
        row, output = await self._own_output(actor_id, body.id, body.index)
        if output.originality and output.originality.get("near_copy") and not body.acknowledge_near_copy:
            raise Unprocessable(
                "this output is a near copy of a training work; to publish it anyway, say so with "
                "acknowledge_near_copy: true",
                errors=[{"field": "acknowledge_near_copy", "message": "must be true for a near copy"}],
                extra={"originality": output.originality})
        model = await store.get_model(self.pool, row.model_id)
        work = {
            "title": body.title, "description": body.description, "tags": body.tags,
            "asset_ids": [output.asset_id], "visibility": body.visibility, "origin": "ai",
            "allow_training": False, "model_id": row.model_id, "model_version": row.version,
            "model_owner_id": model.owner_id if model else None, "generation_id": row.id,
        }
        headers = {"Idempotency-Key": f"inference:{idempotency_key}"} if idempotency_key else None
        raw = await call_raw(self.nc, community.WORKS_CREATE, work, actor_id=actor_id,
                             timeout=self.settings.community_timeout_s, headers=headers)
        result: dict[str, Any] = orjson.loads(raw)  # community's work, passed on as it is
        if isinstance(result.get("id"), str):  # its likes weigh in the model's next refine
            await store.set_published_work(self.pool, row.id, body.index, result["id"])
        log.info("inference.output.published", generation_id=row.id, index=body.index, work_id=result.get("id"))
        return result

    # -- provenance ------------------------------------------------------------------------------

    async def verify(self, body: ProvenanceVerifyRequest) -> dict[str, Any]:
        try:
            data = base64.b64decode(body.data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise Unprocessable("data_b64 is not valid base64") from None
        if len(data) > self.settings.verify_max_bytes:
            raise PayloadTooLarge(f"images up to {self.settings.verify_max_bytes} bytes can be verified")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, self.verifier.verify, data, body.content_type)
        except ProvenanceError as exc:
            raise Unprocessable(str(exc)) from None
        result["generation"] = await self._find_generation(data, result.get("watermark_id"))
        return result

    async def _find_generation(self, data: bytes, watermark_id: str | None) -> dict[str, Any] | None:
        """The record an image came from: by its exact signed bytes, else by its watermark."""
        output = await store.output_by_signed_sha256(self.pool, hashlib.sha256(data).hexdigest())
        matched_by = "signed_bytes"
        row = await store.get_generation(self.pool, output.generation_id) if output else None
        if row is None and watermark_id:
            candidates = await store.generations_by_watermark(self.pool, watermark_id)
            row, matched_by = (candidates[0], "watermark") if candidates else (None, "")
        if row is None:
            return None
        # Enough to trace the image, nothing private: no owner, no other outputs.
        return {"id": row.id, "model_id": row.model_id, "version": row.version, "mode": row.mode,
                "created_at": row.created_at, "matched_by": matched_by,
                "index": output.index if output else None}
