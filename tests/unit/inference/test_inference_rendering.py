"""Rendering one output: the unsigned PNG is reproducible, the signed one verifies, 128 px is marked."""

import numpy as np
import pytest

from services.inference import devca, png_codec, provenance, watermark
from services.inference.rendering import RenderedImage, render

GENERATION_A, GENERATION_B = "01J9ZC8Q4W6V3N2M1K0H9G8F7E", "01J9ZC8Q4W6V3N2M1K0H9G8F7F"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> devca.DevCA:
    return devca.ensure_dev_ca(tmp_path_factory.mktemp("ca"))


def _image(size: int, seed: int = 0) -> np.ndarray:
    coarse = np.random.default_rng(seed).standard_normal((3, size // 8, size // 8))
    return np.tanh(np.kron(coarse, np.ones((1, 8, 8)))).astype(np.float32)


def _render(ca: devca.DevCA, image: np.ndarray, payload: int | None) -> RenderedImage:
    signer = provenance.Signer(ca.chain_pem, ca.key_pem)
    return render(image, index=2, seed=12, model_id="m", version=3, mode="sample",
                  parameters={"count": 3, "seed": 10}, watermark_payload=payload, signer=signer)


def test_same_output_twice_has_the_same_unsigned_bytes_and_verifies(ca: devca.DevCA) -> None:
    image = _image(64)
    a, b = _render(ca, image, None), _render(ca, image, None)
    assert a.image_sha256 == b.image_sha256
    assert a.signed_sha256 != b.signed_sha256  # c2pa salts (provenance.py)
    assert (a.width, a.height) == (64, 64)
    np.testing.assert_array_equal(png_codec.decode_image(a.png), png_codec.to_uint8(image)[0])
    result = provenance.Verifier(ca.root_pem).verify(a.png)
    assert result["state"] == "valid"
    assert result["generation"]["index"] == 2 and result["generation"]["seed"] == 12
    assert result["generation"]["watermark_id"] is None


def test_small_images_get_no_watermark_and_large_ones_carry_their_generation(ca: devca.DevCA) -> None:
    small = _render(ca, _image(64), watermark.short_id(GENERATION_A))
    assert provenance.Verifier(ca.root_pem).verify(small.png)["watermark_id"] is None
    image = _image(128, seed=5)
    a = _render(ca, image, watermark.short_id(GENERATION_A))
    b = _render(ca, image, watermark.short_id(GENERATION_B))
    assert a.image_sha256 != b.image_sha256
    stripped = png_codec.strip_metadata(a.png)
    found = provenance.Verifier(ca.root_pem).verify(stripped)["watermark_id"]
    assert found == watermark.format_short_id(watermark.short_id(GENERATION_A))
