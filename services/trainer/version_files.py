"""The small files a version ships beside model.onnx for inference: its latent directions (the
`edit` mode) and the originality reference (descriptors of its training works, one entry per work).
Layout and format: shared/contracts/triton.py. Built from what the training process reported."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from shared import originality
from shared.contracts.triton import DIRECTIONS_FILE, ORIGINALITY_FILE, version_file_key
from shared.objectstore import ObjectStore


def directions_document(directions: dict[str, Any]) -> dict[str, Any]:
    """{"directions": [{id (1..), label, variance_share, singular_value, vector}]}, strongest first."""
    vectors = np.asarray(directions["vectors"], np.float32)
    shares = np.asarray(directions["variance_share"], np.float64)
    sigmas = np.asarray(directions["singular_values"], np.float64)
    return {"directions": [
        {"id": i + 1, "label": f"direction {i + 1}", "variance_share": round(float(shares[i]), 6),
         "singular_value": round(float(sigmas[i]), 6), "vector": [float(v) for v in vectors[i]]}
        for i in range(len(vectors))]}


def originality_document(reference: dict[str, Any], sources: list[str | None] | None) -> dict[str, Any]:
    """The training process's reference (descriptors of every image in dataset order) grouped per
    work; without sources (a DDP run) each image is its own entry, named by its position."""
    descs = np.asarray(reference["descriptors"], np.float32)
    work_ids: list[str | None] = list(sources) if sources is not None and len(sources) == len(descs) \
        else [f"image-{i}" for i in range(len(descs))]
    return originality.reference_document(descs, work_ids, float(reference["scale"]),
                                          float(reference["near_copy_threshold"]), str(reference["feature"]))


async def write_version_files(objects: ObjectStore, path: str, result: dict[str, Any]) -> list[str]:
    """Write what the result carries; returns the file names written."""
    written = []
    if result.get("directions") is not None:
        await objects.write(version_file_key(path, DIRECTIONS_FILE),
                            orjson.dumps(directions_document(result["directions"])), "application/json")
        written.append(DIRECTIONS_FILE)
    if result.get("originality") is not None:
        doc = originality_document(result["originality"], result.get("image_sources"))
        await objects.write(version_file_key(path, ORIGINALITY_FILE), orjson.dumps(doc), "application/json")
        written.append(ORIGINALITY_FILE)
    return written


async def read_directions(objects: ObjectStore, path: str) -> list[dict[str, Any]] | None:
    """The version's directions, or None when it ships none."""
    data = await objects.read(version_file_key(path, DIRECTIONS_FILE))
    if data is None:
        return None
    return list(orjson.loads(data)["directions"])
