"""Reading exported models from the Triton model repository in the shared bucket.

The trainer writes each version under `shared.contracts.triton.repository_path` (`models/<id>/<version>/`
with its `model.onnx`). That prefix is the one exception to "a service never reads another's bucket
prefixes": it is a shared, read-only-for-us interface by design (production's Triton reads the same
prefix). Everything else in the bucket belongs to assets and trainer.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import orjson

from shared.contracts.triton import (
    DIRECTIONS_FILE,
    ONNX_FILE,
    ORIGINALITY_FILE,
    is_repository_path,
    onnx_key,
    version_file_key,
)
from shared.objectstore import ObjectStore

_CACHED_VERSIONS = 64  # direction and originality files are a few hundred kB at most


class ModelFilesMissing(LookupError):
    """The repository path holds no model.onnx (yet)."""


class ModelRepository:
    """The model-repository prefix of the shared bucket, read-only."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._files: OrderedDict[tuple[str, str], Any] = OrderedDict()

    async def _json_file(self, path: str, name: str) -> Any:
        """A version's JSON side file (None when the version ships none), cached: versions never change."""
        key = (path, name)
        if key in self._files:
            self._files.move_to_end(key)
            return self._files[key]
        if not is_repository_path(path):
            return None
        data = await self.objects.read(version_file_key(path, name))
        value = orjson.loads(data) if data is not None else None
        self._files[key] = value
        while len(self._files) > 2 * _CACHED_VERSIONS:
            self._files.popitem(last=False)
        return value

    async def directions(self, path: str) -> np.ndarray[Any, Any] | None:
        """The version's latent direction vectors [K, 128] (direction id i is row i - 1), or None."""
        doc = await self._json_file(path, DIRECTIONS_FILE)
        if not doc or not doc.get("directions"):
            return None
        ordered = sorted(doc["directions"], key=lambda d: int(d["id"]))
        return np.asarray([d["vector"] for d in ordered], np.float32)

    async def originality(self, path: str) -> dict[str, Any] | None:
        """The version's originality reference (shared/originality.py), or None."""
        doc = await self._json_file(path, ORIGINALITY_FILE)
        return doc if isinstance(doc, dict) else None

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
