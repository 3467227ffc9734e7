"""The jobs.train worker's bookkeeping against the real database: deliveries of jobs that already
ended do nothing, a job canceled while its worker was gone ends canceled, unknown jobs are poison,
and the dead-letter path fails a job exactly once."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from services.trainer import store
from services.trainer.app import MIGRATIONS, SCHEMA
from services.trainer.settings import TrainerSettings
from services.trainer.worker import TrainWorker, intervals
from shared.contexts import migrate
from shared.contracts.events.catalog import TrainJob
from shared.contracts.events.envelope import make_event
from shared.db import create_pool
from shared.ids import new_id
from shared.messaging.consumer import Poison
from shared.objectstore import ObjectStore


@pytest.fixture
async def worker(endpoints: Any, nc: Any, js: Any) -> Any:
    settings = TrainerSettings(
        database_url=endpoints.database_url, nats_url=endpoints.nats_url, s3_endpoint=endpoints.s3_endpoint,
        s3_access_key=endpoints.s3_access_key, s3_secret_key=endpoints.s3_secret_key, s3_bucket=endpoints.s3_bucket)
    await migrate(settings, SCHEMA, MIGRATIONS)
    pool = await create_pool(settings, schema=SCHEMA)
    objects = ObjectStore(settings)
    async with aiohttp.ClientSession() as http:
        yield TrainWorker(settings, pool, nc, js, objects, http)
    objects.close()
    await pool.close()


async def _job(pool: Any, status: str, **changes: Any) -> dict[str, Any]:
    owner = new_id()
    model = {"id": new_id(), "owner_id": owner, "name": "m", "architecture": "vae", "image_size": 32, "width": 8,
             "work_ids": [new_id()], "asset_ids": [new_id()]}
    job = {"id": new_id(), "model_id": model["id"], "owner_id": owner, "version": 1, "kind": "train", "steps": 10,
           "batch_size": 4}
    await store.insert_model(pool, model)
    await store.insert_job(pool, job)
    await pool.execute("UPDATE jobs SET status = $2, cancel_requested = $3 WHERE id = $1", job["id"], status,
                       changes.get("cancel_requested", False))
    return job


def _delivery(job: dict[str, Any]) -> Any:
    return make_event(TrainJob(job_id=job["id"], model_id=job["model_id"], owner_id=job["owner_id"], version=1),
                      service="trainer", subject_id=job["id"])


async def _events(pool: Any, model_id: str) -> list[str]:
    rows = await pool.fetch("SELECT subject FROM outbox WHERE body::jsonb -> 'data' ->> 'model_id' = $1 ORDER BY seq",
                            model_id)
    return [r["subject"] for r in rows]


@pytest.mark.parametrize("status", ["succeeded", "failed", "canceled"])
async def test_a_redelivered_job_that_already_ended_is_left_alone(worker, status) -> None:  # type: ignore[no-untyped-def]
    job = await _job(worker.pool, status)
    await worker.handle(_delivery(job), None)
    row = await store.get_job(worker.pool, job["id"])
    assert (row.status, row.attempts, row.worker_pid) == (status, 0, None)
    assert await _events(worker.pool, job["model_id"]) == []


async def test_a_job_canceled_while_no_worker_ran_it_ends_canceled(worker) -> None:  # type: ignore[no-untyped-def]
    job = await _job(worker.pool, "running", cancel_requested=True)
    await worker.handle(_delivery(job), None)
    assert (await store.get_job(worker.pool, job["id"])).status == "canceled"
    assert await _events(worker.pool, job["model_id"]) == ["trainer.training.canceled"]


async def test_an_unknown_job_is_poison(worker) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Poison):
        await worker.handle(_delivery({"id": new_id(), "model_id": new_id(), "owner_id": new_id()}), None)


async def test_the_dead_letter_path_fails_the_job_once(worker) -> None:  # type: ignore[no-untyped-def]
    job = await _job(worker.pool, "running")
    await worker.on_dead_letter(_delivery(job))
    await worker.on_dead_letter(_delivery(job))
    row = await store.get_job(worker.pool, job["id"])
    assert row.status == "failed" and "5 attempts" in row.error and row.finished_at is not None
    assert await _events(worker.pool, job["model_id"]) == ["trainer.training.failed"]


def test_short_runs_still_report_sample_and_checkpoint_on_progress_steps() -> None:
    settings = TrainerSettings()
    for steps in (1, 7, 40, 250, 20000):
        every = intervals(settings, steps)
        assert every["checkpoint_every"] % every["progress_every"] == 0
        assert max(every.values()) <= steps
    assert intervals(settings, 20000) == {"progress_every": 10, "sample_every": 200, "checkpoint_every": 100}
