"""The collage architecture end to end: trained by the trainer, exported, served by Triton, signed."""

from __future__ import annotations

import io

import aiohttp
import numpy as np
from PIL import Image

from tests.support.artists import artist, generate


async def test_a_collage_model_trains_and_generates_shapes_through_triton(gateway_url: str) -> None:
    """architecture "collage" goes the whole way: trained by the trainer, exported, served by Triton,
    signed; its output is drawn in the flat colours of the works (a palette of the style)."""
    async with aiohttp.ClientSession(base_url=gateway_url, timeout=aiohttp.ClientTimeout(total=60)) as session:
        mira = await artist(session)
        works = [await mira.work("geometric", seed) for seed in range(6)]
        accepted = await mira.call("POST", "/v1/models", 202, json={
            "name": "Shapes", "work_ids": works, "steps": 30, "architecture": "collage", "image_size": 32,
            "width": 8, "batch_size": 8})
        assert accepted["architecture"] == "collage"
        model = await mira.wait(accepted["id"], ("succeeded",))
        (version,) = model["versions"]
        assert version["metrics"]["recipe"] == "fewshot" and version["metrics"]["palette_colours"] >= 3
        generation = await generate(mira, model["id"], body={"model_id": model["id"], "count": 2, "seed": 5})
        assert len(generation["outputs"]) == 2
        async with session.get(f"/v1/assets/{generation['outputs'][0]['asset_id']}/content",
                               headers=mira.headers) as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
            png = await resp.read()
    colours = {tuple(c) for c in np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).tolist()}
    assert len(colours) <= version["metrics"]["palette_colours"], colours  # flat colours only: the palette's
