"""The fast path for generated images: cheap checks that catch a wrong claim, without decoding."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from services.assets.generated import check, thumbnail_bytes
from shared.contracts.assets import GeneratedImage
from shared.errors import PayloadTooLarge, Unprocessable

PALETTE = ["#000000", "#ffffff", "#ff0000", "#00ff00", "#0000ff"]


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _item(data: bytes, **changes: object) -> GeneratedImage:
    fields: dict[str, object] = {"owner_id": "user_1", "data_b64": base64.b64encode(data).decode(),
                                 "sha256": hashlib.sha256(data).hexdigest(), "width": 64, "height": 48,
                                 "palette": PALETTE, "meta": {"index": 2}}
    return GeneratedImage.model_validate({**fields, **changes})


def test_a_true_claim_is_accepted_and_the_bytes_are_kept_exactly() -> None:
    data = _png(64, 48)
    checked = check(_item(data), max_bytes=1 << 20, max_pixels=1 << 20)
    assert checked.data == data and (checked.width, checked.height) == (64, 48)
    assert checked.palette == PALETTE and checked.meta == {"index": 2}


@pytest.mark.parametrize(("changes", "message"), [
    ({"width": 65}, "not 65x48"),
    ({"sha256": "0" * 64}, "do not match their sha256"),
    ({"data_b64": "not base64!"}, "not valid base64"),
    ({"data_b64": base64.b64encode(b"GIF89a" + b"\0" * 40).decode()}, "not a PNG"),
    ({"owner_id": "../other"}, "owner id"),
])
def test_a_wrong_claim_is_refused_with_422(changes: dict[str, object], message: str) -> None:
    with pytest.raises(Unprocessable, match=message):
        check(_item(_png(64, 48), **changes), max_bytes=1 << 20, max_pixels=1 << 20)


def test_limits_apply_from_the_header_alone() -> None:
    data = _png(64, 48)
    with pytest.raises(PayloadTooLarge):
        check(_item(data), max_bytes=len(data) - 1, max_pixels=1 << 20)
    with pytest.raises(Unprocessable, match="too many pixels"):
        check(_item(data), max_bytes=1 << 20, max_pixels=64 * 48 - 1)


def test_a_palette_must_be_five_hex_colours() -> None:
    with pytest.raises(ValueError):
        _item(_png(64, 48), palette=PALETTE[:4])
    with pytest.raises(ValueError):
        _item(_png(64, 48), palette=[*PALETTE[:4], "red"])


def test_a_large_generated_image_gets_a_webp_thumbnail_inside_the_box() -> None:
    thumb = Image.open(io.BytesIO(thumbnail_bytes(_png(300, 200), 128)))
    assert thumb.format == "WEBP" and thumb.size == (128, 85)
