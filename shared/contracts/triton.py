"""The Triton model repository in the shared bucket: the one place both trainer and inference use.

The trainer writes `models/<model_id>/<version>/model.onnx` and `models/<model_id>/config.pbtxt`
(one Triton model per style model, one Triton version per model version); inference and
production's Triton read that prefix. The tensor names are the exported ONNX graph's.

Beside model.onnx each version folder holds two small JSON files for inference (Triton ignores
them): `directions.json`, the version's latent directions for the `edit` mode ({"directions":
[{"id", "label", "variance_share", "vector": [128 floats]}]}), and `originality.json`, the
descriptors of its training works, one entry per work ({"feature", "scale", "near_copy_threshold",
"works": [{"work_id", "descriptors": [[432 floats], ...]}]}; see shared/originality.py).
"""

from __future__ import annotations

MODELS_PREFIX = "models/"
ONNX_FILE = "model.onnx"
CONFIG_FILE = "config.pbtxt"
DIRECTIONS_FILE = "directions.json"
ORIGINALITY_FILE = "originality.json"
INPUT_NAME = "z"
OUTPUT_NAME = "image"


def repository_path(model_id: str, version: int) -> str:
    """A version's folder, as `trainer.model.trained` carries it: `models/<model_id>/<version>/`."""
    return f"{MODELS_PREFIX}{model_id}/{version}/"


def onnx_key(path: str) -> str:
    """The ONNX file inside a version folder."""
    return path.rstrip("/") + "/" + ONNX_FILE


def version_file_key(path: str, name: str) -> str:
    """Another file of a version folder (DIRECTIONS_FILE, ORIGINALITY_FILE)."""
    return path.rstrip("/") + "/" + name


def config_key(model_id: str) -> str:
    return f"{MODELS_PREFIX}{model_id}/{CONFIG_FILE}"


def is_repository_path(path: str) -> bool:
    return path.startswith(MODELS_PREFIX) and ".." not in path
