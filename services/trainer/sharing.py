"""Shared models and their consent, as owners and others see them: the model page (an owner's
model, or anyone's public one), listings by owner and popularity, settings, retraining without
withdrawn works, and an artist's training uses."""

from __future__ import annotations

import asyncpg

from services.trainer import consent_store, store
from services.trainer.events import job_event, queued_event, settings_event
from services.trainer.service import SCHEMA, check_training_limit, model_view, summary_view
from services.trainer.settings import TrainerSettings
from services.trainer.store import ModelRow
from shared.contracts.common import patch_fields
from shared.contracts.trainer import (
    StyleModel,
    StyleModelAccepted,
    StyleModelListing,
    StyleModelListQuery,
    StyleModelRetrain,
    StyleModelUpdate,
    TrainingShare,
    TrainingUse,
    TrainingUseModel,
    TrainingUses,
    TrainingUsesQuery,
    TrainingUseVersion,
)
from shared.errors import BadRequest, Conflict, NotFound, Unprocessable
from shared.ids import is_ulid, new_id
from shared.logging import get_logger
from shared.outbox import enqueue

log = get_logger(__name__)
ALL_OWNERS = "all"


def visible(model: ModelRow | None, actor_id: str | None) -> bool:
    return model is not None and (model.owner_id == actor_id or model.visibility == "public")


async def page(pool: asyncpg.Pool, actor_id: str | None, model_id: str) -> StyleModel:
    """The model page: the owner's model, or a public one; anything else is a 404."""
    # One snapshot: read apart, a job that succeeded between the reads showed "succeeded" with the
    # version it made missing.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        model = await store.get_model(conn, model_id)
        if model is None or not visible(model, actor_id):
            raise NotFound(f"no model {model_id!r}")
        versions = await store.versions(conn, model_id)
        job = await store.latest_job(conn, model_id)
        samples = await store.sample_ids(conn, model_id)
        work_rows = await consent_store.version_works(conn, model_id)
        counts = await consent_store.generation_counts(conn, model_id)
    view = model_view(model, job, versions, samples)
    records: dict[int, list[TrainingShare]] = {}
    for r in work_rows:
        records.setdefault(int(r["version"]), []).append(TrainingShare(
            work_id=r["work_id"], author_id=r["author_id"], images=r["images"], share=round(float(r["share"]), 4)))
    by_number = {v.version: v for v in versions}
    for v in view.versions:
        row = by_number[v.version]
        v.status = "consent_withdrawn" if row.status == "consent_withdrawn" else "active"
        v.withdrawn_work_ids = list(row.withdrawn_work_ids)
        v.withdrawn_at = row.withdrawn_at
        v.training_works = records.get(v.version, [])
        # Every version trained since records exist has at least one work in its record.
        v.training_record = "recorded" if v.training_works else "unavailable"
        v.generations = counts.get(v.version, 0)
    view.visibility = "public" if model.visibility == "public" else "private"
    view.training_mining = model.training_mining  # type: ignore[assignment]
    view.licence = model.licence
    view.licence_terms = model.licence_terms
    view.commercial_use = model.commercial_use
    view.generations = sum(counts.values())
    view.consent_withdrawn = any(v.status == "consent_withdrawn" for v in view.versions)
    if model.owner_id != actor_id:  # a visitor sees the page, not the owner's job internals
        view.error = None
    return view


def _cursor(query: StyleModelListQuery) -> tuple[int, str] | None:
    if query.cursor is None:
        return None
    count, dot, model_id = query.cursor.rpartition(".")
    if query.sort == "new" and not dot and is_ulid(query.cursor):
        return 0, query.cursor
    if query.sort == "popular" and count.isdigit() and is_ulid(model_id):
        return int(count), model_id
    raise BadRequest("the cursor is not valid for this sort: pass the next_cursor of a previous page")


async def list_models(pool: asyncpg.Pool, actor_id: str, query: StyleModelListQuery) -> StyleModelListing:
    """No `owner`: your models; `owner=all`: every public model; a user id: that user's public models
    (all of them when it is you)."""
    owner = actor_id if query.owner is None else None if query.owner == ALL_OWNERS else query.owner
    public_only = owner != actor_id
    rows = await consent_store.list_shared(pool, owner_id=owner, public_only=public_only, sort=query.sort,
                                           limit=query.limit, after=_cursor(query))
    items = []
    for r in rows:
        item = summary_view(r)
        item.owner_id, item.generations = r.owner_id, int(r.generations)
        item.visibility = "public" if r.visibility == "public" else "private"
        items.append(item)
    last = rows[-1] if len(rows) == query.limit else None
    cursor = None if last is None else last.id if query.sort == "new" else f"{int(last.generations)}.{last.id}"
    return StyleModelListing(items=items, next_cursor=cursor)


async def _own(conn: store.Conn, actor_id: str, model_id: str) -> ModelRow:
    model = await store.get_model(conn, model_id)
    if model is None or model.owner_id != actor_id:
        raise NotFound(f"no model {model_id!r}")
    return model


async def update(pool: asyncpg.Pool, actor_id: str, body: StyleModelUpdate) -> StyleModel:
    fields = patch_fields(body)
    async with pool.acquire() as conn, conn.transaction():
        model = await _own(conn, actor_id, body.id)
        if fields:
            model = await consent_store.update_settings(conn, model.id, fields)
            await enqueue(conn, SCHEMA, settings_event(model))
    log.info("trainer.model.updated", model_id=body.id, fields=sorted(fields))
    return await page(pool, actor_id, body.id)


async def retrain(pool: asyncpg.Pool, settings: TrainerSettings, actor_id: str,
                  body: StyleModelRetrain) -> StyleModelAccepted:
    """A new version trained from scratch on the model's works minus those whose consent was withdrawn."""
    if body.steps is not None and body.steps > settings.trainer_max_steps:
        raise Unprocessable("too many steps", errors=[
            {"field": "steps", "message": f"at most {settings.trainer_max_steps}"}])
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_owner(conn, actor_id)
        model = await _own(conn, actor_id, body.id)
        latest = await store.latest_job(conn, model.id)
        if latest is not None and latest.status in store.ACTIVE:
            raise Conflict("this model is already training; wait for it or cancel it first")
        withdrawn = set(await consent_store.withdrawn_of_model(conn, model))
        if not withdrawn:
            raise Conflict("nothing to retrain: no work of this model has withdrawn its consent")
        kept = [w for w in await consent_store.model_works(conn, model.id)
                if w.work_id in model.work_ids and w.work_id not in withdrawn]
        if not kept:
            raise Conflict("every work of this model has withdrawn its consent: nothing is left to train on")
        await check_training_limit(conn, settings, actor_id)
        first = await store.first_train_job(conn, model.id)
        work_ids = [w.work_id for w in kept]
        asset_ids = list(dict.fromkeys(a for w in kept for a in w.asset_ids))
        await consent_store.set_dataset(conn, model.id, work_ids, asset_ids)
        job = await store.insert_job(conn, {
            "id": new_id(), "model_id": model.id, "owner_id": actor_id,
            "version": await store.next_version(conn, model.id), "kind": "train",
            "steps": body.steps or (first.steps if first else 100),
            "batch_size": first.batch_size if first else 32, "augment": first.augment if first else None,
            "seed": first.seed if first else 0})
        await enqueue(conn, SCHEMA, queued_event(model, job))
        await enqueue(conn, SCHEMA, job_event(job))
    log.info("trainer.retrain.queued", model_id=model.id, version=job.version, without=sorted(withdrawn))
    return StyleModelAccepted(id=model.id, status="queued", version=job.version)


async def training_uses(pool: asyncpg.Pool, actor_id: str, query: TrainingUsesQuery) -> TrainingUses:
    rows = await consent_store.training_uses(pool, actor_id, query.limit, query.cursor)
    works: dict[str, TrainingUse] = {}
    for r in rows:
        use = works.setdefault(r.work_id, TrainingUse(work_id=r.work_id, withdrawn=r.withdrawn, models=[]))
        if not use.models or use.models[-1].model_id != r.model_id:
            use.models.append(TrainingUseModel(
                model_id=r.model_id, name=r.name, owner_id=r.owner_id,
                visibility="public" if r.visibility == "public" else "private", versions=[]))
        use.models[-1].versions.append(TrainingUseVersion(
            version=r.version, share=round(r.share, 4), generations=r.generations, withdrawn_at=r.withdrawn_at,
            status="consent_withdrawn" if r.status == "consent_withdrawn" else "active"))
    items = list(works.values())
    return TrainingUses(items=items, next_cursor=items[-1].work_id if len(items) == query.limit else None)
