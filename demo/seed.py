"""Demo data for `make run`: an artist with procedurally generated works in two styles, a visitor
who follows, likes and comments, a short training run, and — once it has trained — a few
generations, one of them rated and published as an AI work. All through the public API, like a
real client.

Only an empty platform is seeded (or one seeded before, whose missing parts are filled in): running
it again creates nothing new. `seed()` returns at once with the line to print; waiting for the
training and generating runs in a background thread, which prints its own line when done.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from demo.art import png_bytes, render

TIMEOUT = aiohttp.ClientTimeout(total=60)
POLL_S = 2.0
LOADING_WAIT_S = 60.0  # a model that just trained reaches the inference service a moment later


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoConfig:
    artist: Account = Account("mira", "mira@atelier.example", "atelier-demo-1")
    visitor: Account = Account("teo", "teo@atelier.example", "atelier-demo-1")
    styles: tuple[str, ...] = ("waves", "geometric")
    works_per_style: int = 12
    upload_px: int = 128
    art_seed: int = 0  # the procedural series renders seeds art_seed, art_seed + 1, ...
    train_style: str = "geometric"
    # The collage architecture (flat-colour shapes, services/trainer/collage.py) with the few-shot
    # recipe at 64 px and the trainer's defaults (width 16, batch 16): 800 steps are about 5 minutes
    # on 2 cores (the trainer trains on one); 3 of the 12 works are held out, so the version's
    # metrics include SWD on unseen works, precision/recall and memorisation, and it ships
    # directions and originality.
    model: dict[str, Any] = field(default_factory=lambda: {
        "name": "Geometric", "architecture": "collage", "image_size": 64, "steps": 800})
    generations: bool = True
    training_wait_s: float = 900.0
    only_if_empty: bool = True


@dataclass
class Seeded:
    message: str
    model_id: str | None = None


class DemoError(RuntimeError):
    pass


class Client:
    """A thin JSON client of the gateway for one signed-in user."""

    def __init__(self, http: aiohttp.ClientSession, token: str | None = None) -> None:
        self.http, self.token = http, token

    async def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202, 204),
                   **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json() if resp.content_type.endswith("json") else None
            if resp.status not in ok:
                raise DemoError(f"{method} {path}: {resp.status} {body}")
            return resp.status, body

    async def get(self, path: str) -> Any:
        return (await self.call("GET", path))[1]


async def sign_in(http: aiohttp.ClientSession, account: Account, *, create: bool) -> tuple[Client, bool] | None:
    """(client, created) for the account; None when it does not exist and `create` is false."""
    anonymous = Client(http)
    if create:
        status, body = await anonymous.call("POST", "/v1/auth/signup", ok=(201, 409), json={
            "username": account.username, "email": account.email, "password": account.password})
        if status == 201:
            return Client(http, body["token"]), True
    status, body = await anonymous.call("POST", "/v1/auth/login", ok=(200, 401),
                                        json={"login": account.username, "password": account.password})
    if status == 401:
        if create:
            raise DemoError(f"the demo account {account.username!r} exists with another password")
        return None
    return Client(http, body["token"]), False


def artwork(style: str, seed: int, size: int) -> bytes:
    return png_bytes(render(style, seed, size))


async def portfolio(artist: Client, config: DemoConfig) -> list[dict[str, Any]]:
    """The artist's works; the procedural series is created when there are none."""
    page = await artist.get(f"/v1/works?author={config.artist.username}&origin=human&limit=100")
    if page["items"]:
        return sorted(page["items"], key=lambda w: w["id"])  # oldest first, as created (ULIDs sort by time)
    works = []
    for style in config.styles:
        for n in range(config.works_per_style):
            image = await asyncio.to_thread(artwork, style, config.art_seed + n, config.upload_px)
            _, asset = await artist.call("POST", "/v1/assets", data=image, headers={"Content-Type": "image/png"})
            _, work = await artist.call("POST", "/v1/works", json={
                "title": f"{style.title()} study {n + 1}", "tags": [style, "procedural"],
                "description": f"A procedural {style} piece (seed {config.art_seed + n}).",
                "asset_ids": [asset["id"]],
                "visibility": "public", "origin": "human", "allow_training": True})
            works.append(work)
    return works


async def visitor_engages(visitor: Client, config: DemoConfig, works: list[dict[str, Any]]) -> None:
    await visitor.call("PUT", f"/v1/users/{config.artist.username}/follow")
    for work in works[:3]:
        await visitor.call("PUT", f"/v1/works/{work['id']}/like")
    if not works:
        return
    comments = await visitor.get(f"/v1/works/{works[0]['id']}/comments?limit=100")
    if not any(c["author"]["username"] == config.visitor.username for c in comments["items"]):
        await visitor.call("POST", f"/v1/works/{works[0]['id']}/comments", json={"body": "Love the palette!"})


async def start_training(artist: Client, config: DemoConfig, works: list[dict[str, Any]]) -> tuple[str | None, str]:
    """(model id, what happened): the demo model is queued once, found again on later runs."""
    name = config.model["name"]
    ids = [w["id"] for w in works if config.train_style in w.get("tags", [])]
    try:
        page = await artist.get("/v1/models?limit=100")
        existing = next((m for m in page["items"] if m["name"] == name), None)
        if existing is not None:
            return existing["id"], f"style model {name!r} is {existing['status']}"
        _, model = await artist.call("POST", "/v1/models", json={**config.model, "work_ids": ids})
    except DemoError as exc:  # e.g. no trainer deployed: the rest of the demo still stands
        return None, f"training not started ({exc})"
    return model["id"], f"training style model {name!r} on {len(ids)} {config.train_style} works ({model['status']})"


async def seed_platform(gateway_url: str, config: DemoConfig) -> Seeded:
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=TIMEOUT) as http:
        known = await sign_in(http, config.artist, create=False)
        if known is None and config.only_if_empty:
            anyone = await Client(http).get("/v1/works?limit=1")
            if anyone["items"]:
                return Seeded("demo: the platform already has works; no demo data added")
        artist, _ = known or await sign_in(http, config.artist, create=True)  # type: ignore[misc]
        await artist.call("PATCH", "/v1/me", json={
            "display_name": f"{config.artist.username.title()} (demo)", "bio": "Waves and shapes.",
            "allow_training": True})
        works = await portfolio(artist, config)
        visitor, _ = await sign_in(http, config.visitor, create=True)  # type: ignore[misc]
        await visitor_engages(visitor, config, works)
        model_id, training = await start_training(artist, config, works)
    a, v = config.artist, config.visitor
    return Seeded(f"demo: sign in as {a.username} / {a.password} (artist, {len(works)} works) or "
                  f"{v.username} / {v.password} (follows the artist); {training}", model_id)


async def wait_trained(artist: Client, model_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        model = await artist.get(f"/v1/models/{model_id}")
        if model["status"] in ("succeeded", "failed", "canceled") or time.monotonic() > deadline:
            return model  # type: ignore[no-any-return]
        await asyncio.sleep(POLL_S)


async def generate(artist: Client, body: dict[str, Any], timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + LOADING_WAIT_S
    while True:
        # 409 until inference has loaded the version; 404 until it has heard a model went public
        status, created = await artist.call("POST", "/v1/generations", ok=(202, 404, 409), json=body)
        if status == 202:
            break
        if time.monotonic() > deadline:
            raise DemoError(f"the model never became available for generation: {created}")
        await asyncio.sleep(POLL_S)
    deadline = time.monotonic() + timeout_s
    while True:
        gen = await artist.get(f"/v1/generations/{created['id']}")
        if gen["status"] in ("succeeded", "failed"):
            return gen  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise DemoError(f"generation {created['id']} still {gen['status']}")
        await asyncio.sleep(POLL_S / 2)


async def finish_demo(gateway_url: str, model_id: str, config: DemoConfig) -> str:
    """Waits for the demo model, then generates in every mode once, rates and publishes the best."""
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=TIMEOUT) as http:
        signed_in = await sign_in(http, config.artist, create=False)
        if signed_in is None:
            return "demo: the artist account is gone; no generations"
        artist = signed_in[0]
        model = await wait_trained(artist, model_id, config.training_wait_s)
        if model["status"] != "succeeded":
            return f"demo: style model {model['name']!r} is {model['status']}; no generations"
        if (await artist.get("/v1/generations?limit=1"))["items"]:
            return f"demo: style model {model['name']!r} is trained and has generations already"
        metrics = model["versions"][-1]["metrics"]
        sample = await generate(artist, {"model_id": model_id, "mode": "sample", "count": 8, "seed": 1})
        await generate(artist, {"model_id": model_id, "mode": "variations", "count": 6, "base_seed": 1,
                                "strength": 0.35})
        await generate(artist, {"model_id": model_id, "mode": "interpolate", "count": 8, "base_seed": 1,
                                "target_seed": 2})
        published = ""
        if sample["status"] == "succeeded" and sample["outputs"]:
            base = f"/v1/generations/{sample['id']}/outputs"
            for index, score in ((0, 5), (1, 4)):
                await artist.call("PUT", f"{base}/{index}/rating", json={"score": score})
            _, work = await artist.call("POST", f"{base}/0/publish", json={
                "title": f"{model['name']}, imagined", "tags": [config.train_style, "ai"], "visibility": "public"})
            published = f", published {work['title']!r}"
        market = await sell_images(http, artist, model_id, config)
    swd = f" (SWD {metrics.get('swd', 0):.0f} vs {metrics.get('swd_untrained', 0):.0f} untrained)" if metrics else ""
    return f"demo: style model {model['name']!r} trained{swd}; 3 generations{published}{market}"


DEMO_PRICE = 2  # credits per image the demo model costs others
DEMO_CONTRIBUTORS_SHARE = 30  # percent of each payment to the artists of its training works


async def sell_images(http: aiohttp.ClientSession, artist: Client, model_id: str, config: DemoConfig) -> str:
    """The market in the demo: the artist shares and prices the model, the visitor buys 4 images;
    both statements (GET /v1/me/credits/statement) show the movement."""
    try:
        await artist.call("PATCH", f"/v1/models/{model_id}", json={"visibility": "public", "licence": "CC-BY-NC-4.0"})
        await artist.call("PUT", f"/v1/models/{model_id}/pricing", json={
            "price_per_image": DEMO_PRICE, "contributors_share": DEMO_CONTRIBUTORS_SHARE})
        signed_in = await sign_in(http, config.visitor, create=False)
        if signed_in is None:
            return ""
        visitor = signed_in[0]
        bought = await generate(visitor, {"model_id": model_id, "mode": "sample", "count": 4, "seed": 7})
        credits = await visitor.get("/v1/me/credits")
    except DemoError as exc:
        return f"; the market demo did not finish ({exc})"
    return (f"; shared and priced at {DEMO_PRICE} credits an image, {config.visitor.username} bought "
            f"{len(bought['outputs'])} (balance {credits['balance']})")


def _finish_in_background(gateway_url: str, model_id: str, config: DemoConfig) -> threading.Thread:
    def run() -> None:
        try:
            message = asyncio.run(finish_demo(gateway_url, model_id, config))
        except Exception as exc:  # the platform may be stopping; the demo is a nicety
            message = f"demo: generating after training did not finish ({exc})"
        print(message, flush=True)

    thread = threading.Thread(target=run, name="demo-generations", daemon=True)
    thread.start()
    return thread


def seed(endpoints: object, gateway_url: str, config: DemoConfig | None = None) -> str:
    """Called by `python -m deploy.local run` once the platform is up; returns a line to print.
    Waiting for the training run and generating happen in a daemon thread."""
    if not gateway_url:
        return "demo: no gateway running, nothing seeded"
    config = config or DemoConfig()
    seeded = asyncio.run(seed_platform(gateway_url, config))
    if seeded.model_id and config.generations:
        _finish_in_background(gateway_url, seeded.model_id, config)
        seeded.message += "; a few generations follow once it has trained"
    return seeded.message
