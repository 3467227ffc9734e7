"""Thumbnails per second for 1024x1024 images (procedural art as JPEG q90, ~100-400 KiB each).

Three figures, each against a baseline alternated with it in the same run (ATELIER_BENCH_ROUNDS,
default 3); the goal is the first (>= 0.9), the others are reported:
- in process: the service's thumbnail step (LANCZOS with reducing_gap, upright, WebP) vs a naive
  Pillow `Image.thumbnail(LANCZOS)` + WebP save of the same decoded images;
- in process: the whole finalise step (decode, checks, hash, thumbnail, palette);
- through the service: `svc.assets.store` with 8 requests in flight against its own stack (decode,
  thumbnail, palette, two object writes, one row + outbox event), vs the in-process finalise rate.

    python -m bench.bench_thumbnails [N]
"""

from __future__ import annotations

import asyncio
import base64
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from bench.harness import Goal, alternate, current, paired_ratios, rounds, spread
from demo.art import STYLES, render
from services.assets.image_pipeline import Limits, process_exact
from services.assets.thumbnails import encode_thumbnail, make_thumbnail
from shared.ids import new_id

SIZE = 1024
LIMITS = Limits(max_pixels=40_000_000, thumbnail_size=256)
IN_FLIGHT = 8
STEP_VS_NAIVE = Goal("thumbnails.service_vs_naive", "the service's thumbnail step (thumbnails/s)",
                     "plain Pillow Image.thumbnail(LANCZOS) + WebP (thumbnails/s)", ">=", 0.9)


def images(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        buf = io.BytesIO()
        render(STYLES[i % len(STYLES)], i, SIZE).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def per_second(fn: Callable[[bytes], object], items: list[bytes]) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def naive_thumbnail(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        img.thumbnail((256, 256), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "WEBP", quality=82, method=4)
        return buf.getvalue()


def service_thumbnail(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        return encode_thumbnail(make_thumbnail(img, size=256))


async def through_service(nats_url: str, pngs: list[bytes]) -> float:
    from shared.contracts import assets
    from shared.messaging.connection import connect
    from shared.messaging.rpc import call_raw

    nc = await connect(nats_url, name="bench-thumbnails")
    owner = new_id()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for png in pngs:
        queue.put_nowait(png)

    async def worker() -> None:
        while not queue.empty():
            png = queue.get_nowait()
            await call_raw(nc, assets.STORE, {"owner_id": owner, "kind": "sample", "content_type": "image/jpeg",
                                              "data_b64": base64.b64encode(png).decode()}, timeout=60)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return len(pngs) / (time.perf_counter() - started)
    finally:
        await nc.drain()


def main() -> None:
    from deploy.local.stack import EmbeddedStack

    results = current()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    n_rounds = rounds(3)
    pngs = images(n)
    per_second(service_thumbnail, pngs[:3])  # warm-up
    results.figure("thumbnails.images", f"{n} x {SIZE}x{SIZE} JPEG ({sum(map(len, pngs)) / n / 1024:.0f} KiB avg), "
                   f"{n_rounds} rounds")
    local = alternate(n_rounds, {"naive": lambda: per_second(naive_thumbnail, pngs),
                                 "service_step": lambda: per_second(service_thumbnail, pngs)})
    results.figure("thumbnails.naive_pillow", spread(local["naive"]), "thumbnails/s")
    results.figure("thumbnails.service_step", spread(local["service_step"]), "thumbnails/s")
    with tempfile.TemporaryDirectory(prefix="atelier-bench-thumbs-") as tmp:
        stack = EmbeddedStack(Path(tmp), with_triton=False)
        try:
            endpoints = stack.start()
            stack.start_services(["assets"])
            asyncio.run(through_service(endpoints.nats_url, pngs[:3]))  # warm-up
            remote = alternate(n_rounds, {
                "finalise": lambda: per_second(lambda p: process_exact(p, LIMITS), pngs),
                "service": lambda: asyncio.run(through_service(endpoints.nats_url, pngs)),
            })
        finally:
            stack.stop()
    results.figure("thumbnails.finalise_in_process (decode+checks+hash+thumbnail+palette)",
                   spread(remote["finalise"]), "images/s")
    results.figure(f"thumbnails.through_service ({IN_FLIGHT} in flight, stored + recorded)",
                   spread(remote["service"]), "images/s")
    results.figure("thumbnails.service_vs_in_process_ratio", spread(paired_ratios(remote["service"],
                                                                                  remote["finalise"])))
    ratio = spread(paired_ratios(local["service_step"], local["naive"]))
    results.check(STEP_VS_NAIVE, ratio.median, spread_of=ratio)


if __name__ == "__main__":
    main()
