"""`torchrun -m services.trainer.ddp --model-id` against the real platform: two CPU ranks take a
queued job away from the queue worker, train it, and publish the version like the worker does."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from demo.art import png_bytes, render

TINY = {"architecture": "vae", "image_size": 32, "width": 16, "batch_size": 16}
TORCHRUN = Path(sys.executable).parent / "torchrun"
REPO = Path(__file__).resolve().parents[2]


async def _user(http: aiohttp.ClientSession) -> dict[str, str]:
    name = "d_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": "correct horse battery"}) as resp:
        assert resp.status == 201, await resp.text()
        headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    async with http.patch("/v1/me", json={"allow_training": True}, headers=headers) as resp:
        assert resp.status == 200
    return headers


async def _work(http: aiohttp.ClientSession, headers: dict[str, str], seed: int) -> str:
    async with http.post("/v1/assets", data=png_bytes(render("blobs", seed, 64)),
                         headers={**headers, "Content-Type": "image/png"}) as resp:
        assert resp.status == 201, await resp.text()
        asset = await resp.json()
    async with http.post("/v1/works", json={"title": f"blobs {seed}", "tags": ["blobs"], "asset_ids": [asset["id"]],
                                            "visibility": "public", "origin": "human", "allow_training": True,
                                            # other tests' artists publish these pictures too
                                            "acknowledge_similarity": True},
                         headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["id"])


async def _model(http: aiohttp.ClientSession, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    async with http.post("/v1/models", json=body, headers=headers) as resp:
        assert resp.status == 202, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]


async def _until(check: Any, timeout_s: float = 120.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (value := await check()):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    return value


async def test_ddp_run_trains_a_queued_job_and_publishes_its_version(gateway_url, stack) -> None:  # type: ignore[no-untyped-def]
    db = await asyncpg.connect(stack.endpoints.database_url)
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as http:
        try:
            # Keep the queue worker busy so the job is still queued when the DDP run claims it.
            busy = await _user(http)
            blocker = await _model(http, busy, {"name": "blocker", "work_ids": [await _work(http, busy, 50)],
                                                "steps": 20000, **TINY})
            await _until(lambda: db.fetchval("SELECT status = 'running' FROM trainer.jobs WHERE model_id = $1",
                                             blocker["id"]))
            owner = await _user(http)
            works = [await _work(http, owner, seed) for seed in range(8)]
            model = await _model(http, owner, {"name": "multi-node", "work_ids": works, "steps": 30, **TINY})
            env = {**os.environ, **stack.service_env("trainer"), "ATELIER_SERVICE_NAME": "trainer"}
            proc = await asyncio.create_subprocess_exec(
                str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "services.trainer.ddp",
                "--model-id", model["id"], cwd=REPO, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            await _until(lambda: db.fetchval("SELECT runner = 'ddp' FROM trainer.jobs WHERE model_id = $1",
                                             model["id"]))
            async with http.post(f"/v1/models/{blocker['id']}/cancel", headers=busy) as resp:
                assert resp.status == 202
            output, _ = await asyncio.wait_for(proc.communicate(), 240)
            assert proc.returncode == 0, output.decode()[-3000:]

            async with http.get(f"/v1/models/{model['id']}", headers=owner) as resp:
                done = await resp.json()
            assert done["status"] == "succeeded", done
            (version,) = done["versions"]
            assert version["metrics"]["world_size"] == 2 and version["metrics"]["ranks_agree"] is True
            assert version["metrics"]["onnx_max_abs_diff"] < 1e-4 and version["steps"] == 30
            assert version["sample_asset_id"] in done["samples"]
            # The queue worker saw the job's message and left it alone.
            job = await db.fetchrow("SELECT id, attempts, runner FROM trainer.jobs WHERE model_id = $1", model["id"])
            assert (job["attempts"], job["runner"]) == (1, "ddp")
            log = stack.state_dir / "logs" / "trainer.log"

            async def skipped() -> bool:
                return any("trainer.job.skipped" in line and job["id"] in line
                           for line in log.read_text().splitlines())

            await _until(skipped, timeout_s=30)
        finally:
            await db.close()
