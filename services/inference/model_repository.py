"""Reading exported models from the Triton model repository in the shared bucket.

The trainer writes each version under `shared.contracts.triton.repository_path` (`models/<id>/<version>/`
with its `model.onnx`). That prefix is the one exception to "a service never reads another's bucket
prefixes": it is a shared, read-only-for-us interface by design (production's Triton reads the same
prefix). Everything else in the bucket belongs to assets and trainer.
"""

from __future__ import annotations

from shared.contracts.triton import ONNX_FILE, is_repository_path, onnx_key
from shared.objectstore import ObjectStore


class ModelFilesMissing(LookupError):
    """The repository path holds no model.onnx (yet)."""


class ModelRepository:
    """The model-repository prefix of the shared bucket, read-only."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    async def fetch(self, path: str) -> dict[str, bytes]:
        """The files a backend needs from `models/<id>/<version>/`: {"model.onnx": bytes}."""
        if not is_repository_path(path):
            raise ModelFilesMissing(f"not a model repository path: {path!r}")
        key = onnx_key(path)
        data = await self.objects.read(key)
        if data is None:
            raise ModelFilesMissing(f"{key} does not exist")
        return {ONNX_FILE: data}

    async def exists(self, path: str) -> bool:
        """Whether `models/<id>/<version>/model.onnx` is there (without reading it)."""
        return await self.objects.size(onnx_key(path)) is not None
