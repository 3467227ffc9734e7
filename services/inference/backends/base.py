"""What the inference service needs from a generator runtime, and the LRU of loaded model versions.

A backend serves (model_id, version) pairs: `load` makes one servable from its exported files
(`{"model.onnx": bytes}`), `infer` maps latents z [N,128] float32 to images [N,3,H,W] in [-1, 1],
and at most `max_loaded` versions stay loaded: loading one more unloads the least recently used.
"""

from __future__ import annotations

import abc
import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.contracts.triton import ONNX_FILE, OUTPUT_NAME

Key = tuple[str, int]  # (model_id, version)
LATENT_DIM = 128


class BackendError(RuntimeError):
    """A generator runtime failed; `retryable` says whether trying again later may succeed."""

    retryable = False


class BackendUnavailable(BackendError):
    """The runtime cannot be reached or timed out (nak the job and retry)."""

    retryable = True


class ModelNotLoaded(BackendError):
    """infer() for a version that is not loaded: load it first."""

    retryable = True


class InvalidModel(BackendError):
    """The exported files cannot be served (no model.onnx, wrong tensor names or shapes)."""


@dataclass
class LoadedModel:
    key: Key
    image_shape: tuple[int, int, int]  # (3, H, W)
    files: Mapping[str, bytes] = field(repr=False)
    in_flight: int = 0


class GeneratorBackend(abc.ABC):
    """The interface the service programs against; Triton in production, ONNX Runtime as fallback."""

    def __init__(self, max_loaded: int = 4) -> None:
        if max_loaded < 1:
            raise ValueError("max_loaded must be at least 1")
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[Key, LoadedModel] = OrderedDict()  # least recently used first
        # Loads and unloads change shared state (and, for Triton, a model's whole version set):
        # one at a time. Inference never waits on this lock.
        self._manage_lock = asyncio.Lock()

    async def load(self, model_id: str, version: int, files: Mapping[str, bytes]) -> None:
        """Make (model_id, version) servable; a no-op when it already is. May evict the LRU version."""
        key = (model_id, int(version))
        async with self._manage_lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return
            if ONNX_FILE not in files:
                raise InvalidModel(f"{model_id} v{version}: files lack {ONNX_FILE}")
            while len(self._loaded) >= self.max_loaded:
                await self._evict_one()
            entry = await self._load(key, files)
            self._loaded[key] = entry

    async def unload(self, model_id: str, version: int | None = None) -> None:
        """Unload one version, or every version of the model when `version` is None."""
        async with self._manage_lock:
            keys = [k for k in self._loaded if k[0] == model_id and (version is None or k[1] == version)]
            for key in keys:
                await self._unload(self._loaded.pop(key))

    async def infer(self, model_id: str, version: int, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Images [N,3,H,W] float32 in [-1, 1] for latents z [N,128]."""
        key = (model_id, int(version))
        entry = self._loaded.get(key)
        if entry is None:
            raise ModelNotLoaded(f"{model_id} v{version} is not loaded")
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != LATENT_DIM or len(z) == 0:
            raise ValueError(f"z must be [N,{LATENT_DIM}] with N >= 1, got {z.shape}")
        self._loaded.move_to_end(key)
        entry.in_flight += 1
        try:
            images = await self._infer(entry, z)
        finally:
            entry.in_flight -= 1
        if images.shape != (len(z), *entry.image_shape):
            raise BackendError(f"{model_id} v{version} returned {images.shape}, expected {entry.image_shape}")
        return images

    def is_loaded(self, model_id: str, version: int) -> bool:
        return (model_id, int(version)) in self._loaded

    def loaded(self) -> list[Key]:
        """Loaded versions, least recently used first."""
        return list(self._loaded)

    @abc.abstractmethod
    async def ready(self) -> bool:
        """Whether the runtime can serve (for /readyz)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release clients and sessions (models stay loaded on a remote server)."""

    async def _evict_one(self) -> None:
        # Least recently used first, but spare versions with requests in flight when possible.
        idle = [k for k, e in self._loaded.items() if e.in_flight == 0]
        key = idle[0] if idle else next(iter(self._loaded))
        await self._unload(self._loaded.pop(key))

    @abc.abstractmethod
    async def _load(self, key: Key, files: Mapping[str, bytes]) -> LoadedModel: ...

    @abc.abstractmethod
    async def _unload(self, entry: LoadedModel) -> None: ...

    @abc.abstractmethod
    async def _infer(self, entry: LoadedModel, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]: ...

    def _versions_of(self, model_id: str) -> list[LoadedModel]:
        return [e for k, e in self._loaded.items() if k[0] == model_id]


def onnx_image_shape(session_outputs: list[object], key: Key) -> tuple[int, int, int]:
    """(3, H, W) from an ONNX Runtime session's outputs; checks the export contract."""
    outputs = {o.name: o.shape for o in session_outputs}  # type: ignore[attr-defined]
    shape = outputs.get(OUTPUT_NAME)
    if shape is None or len(shape) != 4 or not all(isinstance(d, int) for d in shape[1:]):
        raise InvalidModel(f"{key[0]} v{key[1]}: output '{OUTPUT_NAME}' must be [N,3,H,W], got {outputs}")
    channels, height, width = shape[1:]
    if channels != 3:
        raise InvalidModel(f"{key[0]} v{key[1]}: expected 3 channels, got {channels}")
    return int(channels), int(height), int(width)
