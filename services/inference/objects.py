"""Reading exported models from the object store.

The trainer writes `models/<model_id>/<version>/model.onnx` (+ `config.pbtxt`) into the bucket.
That prefix is the platform's Triton model repository, the one exception to "a service never reads
another's bucket prefixes": it is a shared, read-only-for-us interface by design (production's
Triton reads the same prefix). Everything else in the bucket belongs to assets and trainer.
"""

from __future__ import annotations

from services.inference.backends.base import ONNX_FILE
from shared.objectstore import ObjectStore

MODELS_PREFIX = "models/"


class ModelFilesMissing(LookupError):
    """The repository path holds no model.onnx (yet)."""


def repository_path(model_id: str, version: int) -> str:
    return f"{MODELS_PREFIX}{model_id}/{version}/"


def _onnx_key(path: str) -> str:
    return path.rstrip("/") + "/" + ONNX_FILE


class ModelRepository:
    """The model-repository prefix of the shared bucket, read-only."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    async def fetch(self, path: str) -> dict[str, bytes]:
        """The files a backend needs from `models/<id>/<version>/`: {"model.onnx": bytes}."""
        if not path.startswith(MODELS_PREFIX) or ".." in path:
            raise ModelFilesMissing(f"not a model repository path: {path!r}")
        key = _onnx_key(path)
        data = await self.objects.read(key)
        if data is None:
            raise ModelFilesMissing(f"{key} does not exist")
        return {ONNX_FILE: data}

    async def exists(self, path: str) -> bool:
        """Whether `models/<id>/<version>/model.onnx` is there (without reading it)."""
        return await self.objects.size(_onnx_key(path)) is not None
