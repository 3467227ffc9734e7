"""Generated images say whether they may train AI, and which model version (and dataset) made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.inference import devca, png_codec, provenance
from services.inference.provenance import GenerationInfo, TrainingInfo


def test_signed_manifest_carries_training_mining_and_the_model_ingredient(tmp_path: Path) -> None:
    ca = devca.ensure_dev_ca(tmp_path)
    signer, verifier = provenance.Signer(ca.chain_pem, ca.key_pem), provenance.Verifier(ca.chain_pem)
    png = png_codec.encode_png(np.zeros((16, 16, 3), dtype=np.uint8))
    signed = signer.sign(png, GenerationInfo(model_id="M", version=3, seed=1, mode="sample"),
                         training=TrainingInfo(use="allowed", dataset_sha256="d" * 64))
    result = verifier.verify(signed)
    assert result["state"] == "valid"
    training = result["training"]
    assert training["declared"] and training["allowed"] is True
    assert set(training["uses"]) == set(provenance.TRAINING_KINDS)
    assert training["model"] == {"model_id": "M", "version": 3, "dataset_sha256": "d" * 64}
    (ingredient,) = result["manifest"]["ingredients"]
    assert ingredient["relationship"] == "inputTo" and ingredient["metadata"]["version"] == 3


def test_default_is_not_allowed_and_no_manifest_says_nothing(tmp_path: Path) -> None:
    ca = devca.ensure_dev_ca(tmp_path)
    signer, verifier = provenance.Signer(ca.chain_pem, ca.key_pem), provenance.Verifier(ca.chain_pem)
    png = png_codec.encode_png(np.zeros((16, 16, 3), dtype=np.uint8))
    signed = signer.sign(png, GenerationInfo(model_id="M", version=1, seed=1, mode="sample"))
    assert verifier.verify(signed)["training"]["allowed"] is False
    assert verifier.verify(png)["training"] is None
