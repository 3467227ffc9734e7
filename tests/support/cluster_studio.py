"""The cluster tests' workload beyond community and assets: an artist's studio with a trained tiny
style model (trainer, inference on the shared Triton), a webhook endpoint with a local receiver
(webhooks), and what clients do with them under faults — generations, a licence request and
credit reads (market), a training job whose trainer replica is SIGKILLed — and the checks that
each happened exactly once."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support.artists import STYLE, TINY, Artist, artist, generate
from tests.support.retrying_client import Figures, read_until_ok, until_done
from tests.support.webhook_receiver import Receiver

HOOK = "studio"  # the receiver's path of the studio's endpoint
HOOK_EVENTS = ["community.work.published", "inference.generation.completed"]
MODEL_STEPS = 40
DELIVERY_WAIT_S = 60.0
GENERATION_WAIT_S = 60.0
LICENCE_OFFER = 1


@dataclass
class Studio:
    token: str
    work_ids: list[str]  # the artist's works (consenting to training): the training sets
    model_id: str  # trained, loaded: generations use it
    receiver: Receiver
    generations: list[str] = field(default_factory=list)  # every acknowledged generation, across tests

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def open_studio(http: aiohttp.ClientSession, receiver: Receiver) -> Studio:
    """Sign up an artist, subscribe a webhook, publish four works, train a tiny model and generate once."""
    person: Artist = await artist(http)
    await person.call("POST", "/v1/webhooks", 201, json={"url": receiver.url(HOOK), "event_types": HOOK_EVENTS})
    works = [await person.work(STYLE, seed) for seed in range(20, 24)]  # delivered: they come after it
    accepted = await person.call("POST", "/v1/models", 202, json={
        "name": "cluster blobs", "work_ids": works, "steps": MODEL_STEPS, **TINY})
    await person.wait(accepted["id"], ("succeeded",))
    studio = Studio(person.headers["Authorization"].split()[1], works, accepted["id"], receiver)
    studio.generations.append((await generate(person, accepted["id"]))["id"])  # loaded now
    return studio


async def generations_client(http: aiohttp.ClientSession, studio: Studio, figures: Figures,
                             count: int) -> dict[str, float]:
    """`count` generations of two images, one after the other, each with its own Idempotency-Key,
    waited for (reads retried) until succeeded; returns id -> seconds from asking until made."""
    took = {}
    for i in range(count):
        began = time.monotonic()
        body = {"model_id": studio.model_id, "count": 2, "seed": 100 + i}
        accepted = await until_done(http, "/v1/generations", figures, studio.auth,
                                    key=f"gen-{studio.model_id}-{time.time_ns()}", json=body)
        studio.generations.append(accepted["id"])
        await finished_generation(http, studio, figures, accepted["id"])
        took[accepted["id"]] = time.monotonic() - began
    return took


async def finished_generation(http: aiohttp.ClientSession, studio: Studio, figures: Figures,
                              generation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + GENERATION_WAIT_S
    while True:
        generation = await read_until_ok(http, f"/v1/generations/{generation_id}", figures, studio.auth)
        if generation["status"] not in ("queued", "running"):
            assert generation["status"] == "succeeded", generation
            return generation
        assert time.monotonic() < deadline, f"generation still {generation['status']}: {generation}"
        await asyncio.sleep(0.2)


async def check_generations(http: aiohttp.ClientSession, studio: Studio, figures: Figures) -> None:
    """The artist's generations are exactly the acknowledged ones, each succeeded with its images once."""
    listed: list[dict[str, Any]] = []
    params = {"limit": "100"}
    while True:
        page = await read_until_ok(http, "/v1/generations", figures, studio.auth, params=params)
        listed += page["items"]
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(g["id"] for g in listed) == sorted(studio.generations), "a generation was lost or made twice"
    for g in listed:
        assert g["status"] == "succeeded", g
        assert sorted(o["index"] for o in g["outputs"]) == list(range(g["count"])), g
        assert len({o["asset_id"] for o in g["outputs"]}) == g["count"], g


def deliveries_by_subject(studio: Studio) -> dict[str, set[str]]:
    """work or generation id -> the webhook-ids of the receiver's deliveries about it."""
    seen: dict[str, set[str]] = {}
    for received in studio.receiver.received[HOOK]:
        data = json.loads(received.body)["data"]
        subject = data.get("generation_id") if "generation_id" in data else data.get("work_id")
        seen.setdefault(str(subject), set()).add(received.headers["webhook-id"])
    return seen


async def check_deliveries(studio: Studio, expected: list[str]) -> float:
    """Every expected work's or generation's event reached the receiver (at least once, one webhook-id
    each); returns the seconds it took to see the last one."""
    began = time.monotonic()

    def arrived(_requests: object) -> bool:
        return set(expected) <= set(deliveries_by_subject(studio))

    try:
        await studio.receiver.wait_for(HOOK, arrived, DELIVERY_WAIT_S)
    except TimeoutError:
        missing = sorted(set(expected) - set(deliveries_by_subject(studio)))
        raise AssertionError(f"{len(missing)} events never delivered: {missing[:5]}") from None
    seen = deliveries_by_subject(studio)
    doubled = {s: ids for s, ids in seen.items() if s in expected and len(ids) != 1}
    assert not doubled, f"one event delivered under several webhook-ids: {doubled}"
    return time.monotonic() - began


async def request_licence(http: aiohttp.ClientSession, figures: Figures, auth: dict[str, str],
                          studio: Studio, key: str) -> dict[str, Any]:
    body = {"scope": "personal", "terms": "cluster test", "offer_credits": LICENCE_OFFER}
    return await until_done(http, f"/v1/works/{studio.work_ids[0]}/licence-requests", figures, auth, key=key,
                            json=body)


async def check_licence_held_once(http: aiohttp.ClientSession, figures: Figures, auth: dict[str, str],
                                  request_id: str) -> None:
    """The buyer's outgoing requests are that one request, and its offer is held once."""
    page = await read_until_ok(http, "/v1/me/licence-requests", figures, auth,
                               params={"direction": "outgoing", "limit": "50"})
    assert [r["id"] for r in page["items"]] == [request_id], page
    credits = await read_until_ok(http, "/v1/me/credits", figures, auth)
    assert credits["reserved"] == LICENCE_OFFER, credits


@dataclass
class JobWatch:
    """What users saw of a training job from the kill until it succeeded."""

    shown: list[int] = field(default_factory=list)  # the step shown, poll by poll
    redelivered_s: float | None = None  # another attempt began, seconds after the kill
    resumed_s: float | None = None  # its training process reported where it resumed from
    progress: dict[str, Any] = field(default_factory=dict)  # the last one


async def start_job(http: aiohttp.ClientSession, studio: Studio, steps: int) -> str:
    accepted = await until_done(http, "/v1/models", Figures(), studio.auth, json={
        "name": "cluster survivor", "work_ids": studio.work_ids, "steps": steps, **TINY})
    return str(accepted["id"])


async def past_first_checkpoint(http: aiohttp.ClientSession, studio: Studio, model_id: str,
                                timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        progress = (await read_until_ok(http, f"/v1/models/{model_id}", Figures(), studio.auth))["progress"]
        if progress.get("checkpoint_step"):
            return progress  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"training did not get going: {progress}"
        await asyncio.sleep(0.1)


async def watch_job(http: aiohttp.ClientSession, studio: Studio, figures: Figures, model_id: str,
                    killed_at: float, timeout_s: float = 180.0) -> JobWatch:
    """Poll the job (reads retried) until it succeeded."""
    watch = JobWatch()
    deadline = time.monotonic() + timeout_s
    while True:
        model = await read_until_ok(http, f"/v1/models/{model_id}", figures, studio.auth)
        watch.progress = progress = model["progress"]
        watch.shown.append(progress["step"])
        if watch.redelivered_s is None and progress.get("attempts", 1) >= 2:
            watch.redelivered_s = time.monotonic() - killed_at
        if watch.resumed_s is None and progress.get("resumed_from_step"):
            watch.resumed_s = time.monotonic() - killed_at
        if model["status"] == "succeeded":
            return watch
        assert model["status"] in ("queued", "running"), model
        assert time.monotonic() < deadline, f"the job did not finish after the kill: {progress}"
        await asyncio.sleep(0.1)
