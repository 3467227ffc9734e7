"""C2PA signing and verification of generated PNGs, with the watermark as a fallback."""

import zlib
from pathlib import Path

import numpy as np
import pytest

from services.inference import devca, imaging, provenance, watermark
from services.inference.provenance import GenerationInfo

GENERATION_ID = "01J9ZC8Q4W6V3N2M1K0H9G8F7E"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> devca.DevCA:
    return devca.ensure_dev_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def signer(ca: devca.DevCA) -> provenance.Signer:
    return provenance.Signer(ca.chain_pem, ca.key_pem)


@pytest.fixture(scope="module")
def verifier(ca: devca.DevCA) -> provenance.Verifier:
    return provenance.Verifier(ca.root_pem)


def _png(size: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((1, 3, size // 8, size // 8))
    smooth = np.kron(coarse, np.ones((8, 8)))  # blocky but image-like, not white noise
    return imaging.images_to_png(np.tanh(smooth).astype(np.float32))[0]


def _info(**extra: object) -> GenerationInfo:
    base: dict[str, object] = {
        "generation_id": GENERATION_ID,
        "model_id": "01J9ZC7A0000000000000MODEL",
        "version": 3,
        "seed": 42,
        "mode": "variations",
        "index": 1,
        "parameters": {"strength": 0.25, "base_seed": 7, "truncation": None},
    }
    return GenerationInfo(**(base | extra))  # type: ignore[arg-type]


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _assemble(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(len(d).to_bytes(4, "big") + t + d + zlib.crc32(t + d).to_bytes(4, "big") for t, d in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def test_signed_image_verifies_with_ai_source_type_and_generation_parameters(signer, verifier) -> None:  # type: ignore[no-untyped-def]
    png = _png(64)
    signed = signer.sign(png, _info())
    assert np.array_equal(imaging.decode_image(signed), imaging.decode_image(png))  # pixels untouched
    result = verifier.verify(signed, "image/png")
    assert result["state"] == "valid" and result["validation_errors"] == []
    actions = next(a for a in result["manifest"]["assertions"] if a["label"].startswith("c2pa.actions"))
    created = actions["data"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == provenance.DIGITAL_SOURCE_TYPE
    generation = result["generation"]
    assert generation["generation_id"] == GENERATION_ID and generation["seed"] == 42
    assert generation["version"] == 3 and generation["mode"] == "variations"
    assert generation["parameters"] == {"strength": 0.25, "base_seed": 7, "truncation": None}
    assert result["manifest"]["signature_info"]["common_name"].endswith("Generation Signer")
    assert len(signed) - len(png) < 8_000  # no thumbnail


def test_one_changed_pixel_is_reported_as_tampered(signer, verifier) -> None:  # type: ignore[no-untyped-def]
    signed = signer.sign(_png(64), _info())
    pixels = imaging.decode_image(signed).copy()
    pixels[10, 20, 1] ^= 1
    # Keep the manifest chunk, swap in the edited pixels: what an editor that preserves metadata does.
    edited = _chunks(imaging.encode_png(pixels))
    manifest = [c for c in _chunks(signed) if c[0] == b"caBX"]
    assert manifest
    tampered = _assemble([edited[0], *manifest, *edited[1:]])
    result = verifier.verify(tampered, "image/png")
    assert result["state"] == "tampered"
    assert "assertion.dataHash.mismatch" in {e["code"] for e in result["validation_errors"]}


def test_signer_outside_the_trust_anchors_is_untrusted(signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other_root = devca.ensure_dev_ca(tmp_path / "other").root_pem
    result = provenance.Verifier(other_root).verify(signer.sign(_png(64), _info()), "image/png")
    assert result["state"] == "untrusted"
    assert result["generation"]["generation_id"] == GENERATION_ID


def test_stripped_metadata_is_absent_but_the_watermark_still_names_the_generation(signer, verifier) -> None:  # type: ignore[no-untyped-def]
    wm_id = watermark.short_id(GENERATION_ID)
    marked = watermark.embed(_png(128, seed=3), wm_id)
    assert isinstance(marked, bytes)
    signed = signer.sign(marked, _info(watermark_id=watermark.format_short_id(wm_id)))
    whole = verifier.verify(signed, "image/png")
    assert whole["state"] == "valid"
    assert whole["watermark_generation_id"] == whole["generation"]["watermark_id"]

    stripped = imaging.strip_metadata(signed)
    assert b"caBX" not in stripped
    result = verifier.verify(stripped, "image/png")
    assert result["state"] == "absent" and result["manifest"] is None
    assert result["watermark_generation_id"] == watermark.format_short_id(wm_id)
    # An unmarked image of the same size carries no id.
    assert verifier.verify(_png(128, seed=4), "image/png")["watermark_generation_id"] is None


def test_unreadable_or_unsupported_input_is_a_client_error(verifier) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(provenance.ProvenanceError):
        verifier.verify(b"definitely not a png", "image/png")
    with pytest.raises(provenance.ProvenanceError):
        verifier.verify(_png(32), "application/pdf")
