"""Reading an upload's C2PA manifest before its metadata is stripped."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.assets.c2pa_intake import read_declaration, summarize
from services.assets.image_pipeline import Limits, process_upload
from services.inference import devca, png_codec, provenance


def _signed(tmp_path: Path, use: str) -> bytes:
    ca = devca.ensure_dev_ca(tmp_path)
    signer = provenance.Signer(ca.chain_pem, ca.key_pem)
    try:
        pixels = np.full((16, 16, 3), 90, dtype=np.uint8)
        info = provenance.GenerationInfo(model_id="m", version=1, seed=0, mode="sample")
        return signer.sign(png_codec.encode_png(pixels), info, training=provenance.TrainingInfo(use=use))
    finally:
        signer.close()


def test_a_generated_png_declares_ai_and_do_not_train(tmp_path: Path) -> None:
    declared = read_declaration(_signed(tmp_path, "notAllowed"))
    assert declared is not None and declared["ai_generated"] is True
    assert declared["source_types"] == ["trainedAlgorithmicMedia"] and declared["training_allowed"] is False


def test_the_declaration_survives_stripping(tmp_path: Path) -> None:
    processed = process_upload(_signed(tmp_path, "allowed"), Limits(max_pixels=10**6, thumbnail_size=32))
    assert processed.declared is not None and processed.declared["training_allowed"] is True
    assert b"caBX" not in processed.data


def test_no_manifest_declares_nothing() -> None:
    assert read_declaration(png_codec.encode_png(np.zeros((8, 8, 3), dtype=np.uint8))) is None
    assert read_declaration(b"not an image") is None


def test_summary_reads_c2pa_and_cawg_labels_and_ignores_junk() -> None:
    manifest = {"assertions": [
        {"label": "c2pa.actions", "data": {"actions": [
            {"digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"},
            "junk"]}},
        {"label": "c2pa.training-mining", "data": {"entries": {"c2pa.ai_training": {"use": "constrained"}}}},
        "junk"]}
    s = summarize(manifest)
    assert s["ai_generated"] is True and s["training_allowed"] is False
    assert s["uses"] == {"c2pa.ai_training": "constrained"}
