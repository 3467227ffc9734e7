"""In-process ONNX Runtime behind the backend interface, for places where Triton cannot run.

Chosen only by settings. Sessions run in a small thread pool (ONNX Runtime releases the GIL), never on
the event loop; each session's own thread count is bounded so concurrent requests share the CPU.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import onnxruntime as ort

from services.inference.backends.base import (
    LATENT_DIM,
    GeneratorBackend,
    InvalidModel,
    Key,
    LoadedModel,
    onnx_image_shape,
)
from shared.contracts.triton import INPUT_NAME, ONNX_FILE, OUTPUT_NAME


def create_session(model: bytes, key: Key, intra_op_threads: int = 1) -> ort.InferenceSession:
    """An ONNX Runtime CPU session for an exported generator, checked against the export contract."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for malformed graphs
        raise InvalidModel(f"{key[0]} v{key[1]}: not a loadable ONNX model: {exc}") from exc
    inputs = {i.name: i.shape for i in session.get_inputs()}
    if list(inputs) != [INPUT_NAME] or inputs[INPUT_NAME][-1] != LATENT_DIM:
        raise InvalidModel(f"{key[0]} v{key[1]}: input must be '{INPUT_NAME}' [N,{LATENT_DIM}], got {inputs}")
    return session


class OnnxLocalBackend(GeneratorBackend):
    def __init__(self, max_loaded: int = 4, threads: int = 2, intra_op_threads: int = 1) -> None:
        super().__init__(max_loaded)
        self._intra_op_threads = intra_op_threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="onnx-local")
        self._sessions: dict[Key, ort.InferenceSession] = {}

    async def ready(self) -> bool:
        return True  # nothing external to reach

    async def close(self) -> None:
        self._sessions.clear()
        self._loaded.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _load(self, key: Key, files: Mapping[str, bytes]) -> LoadedModel:
        loop = asyncio.get_running_loop()
        session = await loop.run_in_executor(self._pool, create_session, files[ONNX_FILE], key, self._intra_op_threads)
        self._sessions[key] = session
        # Keep no file bytes: the session has what it needs.
        return LoadedModel(key, onnx_image_shape(list(session.get_outputs()), key), files={})

    async def _unload(self, entry: LoadedModel) -> None:
        self._sessions.pop(entry.key, None)

    async def _infer(self, entry: LoadedModel, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        session = self._sessions[entry.key]
        loop = asyncio.get_running_loop()
        outputs = await loop.run_in_executor(self._pool, session.run, [OUTPUT_NAME], {INPUT_NAME: z})
        return np.asarray(outputs[0], dtype=np.float32)
