"""One generator output → the signed PNG that gets stored: pixels, watermark, encode, sign, palette.

Pure and CPU-bound (the service runs it in an executor, one call per image). Each step is
deterministic except the C2PA salts (see provenance.py), so `image_sha256` — the hash of the
PNG before signing — is the same for the same model version, mode, parameters and seed, as long as
no watermark is embedded (128 px and larger: the mark carries the generation's own short id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.inference import png_codec, watermark
from services.inference.palette import dominant_colours
from services.inference.provenance import GenerationInfo, Signer, TrainingInfo


@dataclass(frozen=True)
class RenderedImage:
    index: int
    seed: int
    png: bytes  # signed: store exactly these bytes
    image_sha256: str  # of the unsigned PNG
    signed_sha256: str
    width: int
    height: int
    palette: list[str]  # five dominant colours, "#rrggbb" (assets stores them as measured here)


def render(
    image: np.ndarray[Any, Any],
    *,
    index: int,
    seed: int,
    model_id: str,
    version: int,
    mode: str,
    parameters: dict[str, Any],
    watermark_payload: int | None,
    signer: Signer,
    training: TrainingInfo | None = None,
) -> RenderedImage:
    """Generator output [3,H,W] in [-1, 1] → a signed PNG, watermarked when large enough."""
    pixels = png_codec.to_uint8(image)[0]
    height, width = pixels.shape[:2]
    mark = None
    if watermark_payload is not None and watermark.can_embed(width, height):
        pixels = np.asarray(watermark.embed(pixels, watermark_payload))
        mark = watermark.format_short_id(watermark_payload)
    png = png_codec.encode_png(pixels)
    info = GenerationInfo(model_id=model_id, version=version, seed=seed, mode=mode, index=index,
                          parameters=parameters, watermark_id=mark)
    signed = signer.sign(png, info, training=training)
    return RenderedImage(index=index, seed=seed, png=signed, image_sha256=hashlib.sha256(png).hexdigest(),
                         signed_sha256=hashlib.sha256(signed).hexdigest(), width=width, height=height,
                         palette=dominant_colours(pixels))
