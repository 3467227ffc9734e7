"""NVIDIA Triton behind the backend interface (tritonclient gRPC asyncio, HTTP fallback).

One Triton model per style model (name = model_id), one Triton version per model version. Loading
sends the model's content with the request — Triton's `load_model(config=..., files=...)` repository
override — so the same call works against a local directory repository and production's S3
repository, and Triton never reads a half-written upload. An override replaces the model's whole
directory, so (re)loading a model sends every version that should stay loaded: loading v2 while v1
serves keeps v1 serving (Triton swaps in the new set only once it is ready), and evicting one
version reloads the others. Locally the model runs on the Python backend with the generic
`triton_python_model/model.py`; production's Triton runs the same ONNX file on its onnxruntime
backend, with the same tensor names, so inference requests are identical.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from services.inference.backends.base import (
    LATENT_DIM,
    BackendUnavailable,
    GeneratorBackend,
    Key,
    LoadedModel,
    ModelNotLoaded,
    onnx_image_shape,
)
from services.inference.backends.onnx_local import create_session
from services.inference.backends.triton_transport import GrpcTransport, HttpTransport, TritonDown
from shared.contracts.triton import INPUT_NAME, ONNX_FILE, OUTPUT_NAME

PYTHON_MODEL_FILE = Path(__file__).resolve().parent.parent / "triton_python_model" / "model.py"
ModelBackendKind = Literal["python", "onnxruntime"]
InstanceKind = Literal["KIND_CPU", "KIND_GPU"]
ExecutionProvider = Literal["auto", "cpu", "cuda", "tensorrt"]


def model_config(
    name: str,
    versions: list[int],
    image_shape: tuple[int, int, int],
    *,
    backend: ModelBackendKind = "python",
    max_batch_size: int = 64,
    max_queue_delay_us: int = 2000,
    instances: int = 1,
    intra_op_threads: int = 1,
    instance_kind: InstanceKind = "KIND_CPU",
    execution_provider: ExecutionProvider = "auto",
) -> dict[str, Any]:
    """The Triton model configuration (JSON form of config.pbtxt) for a generator.

    `instance_kind` KIND_GPU puts `instances` copies on every GPU Triton sees. The execution
    provider: the onnxruntime backend runs CUDA on KIND_GPU by itself, and `tensorrt` adds its
    TensorRT accelerator (FP16); the Python backend gets it as the `execution_provider` parameter
    (`triton_python_model/model.py` uses CUDA when onnxruntime-gpu and a GPU are there, `auto`).
    """
    config: dict[str, Any] = {
        "name": name,
        "backend": backend,
        "max_batch_size": max_batch_size,
        "input": [{"name": INPUT_NAME, "data_type": "TYPE_FP32", "dims": [LATENT_DIM]}],
        "output": [{"name": OUTPUT_NAME, "data_type": "TYPE_FP32", "dims": list(image_shape)}],
        # Requests of a few images each are merged into one run: this is what makes Triton's
        # throughput match a hand-batched loop (measured ~95-100%).
        # Preferred sizes: a batch that reaches one runs at once instead of waiting out the delay.
        "dynamic_batching": {"max_queue_delay_microseconds": max_queue_delay_us,
                             "preferred_batch_size": preferred_batch_sizes(max_batch_size)},
        "instance_group": [{"kind": instance_kind, "count": instances}],
        "version_policy": {"specific": {"versions": sorted(versions)}},
    }
    if backend == "python":
        config["parameters"] = {"intra_op_threads": {"string_value": str(intra_op_threads)},
                                "execution_provider": {"string_value": execution_provider}}
    else:
        config["parameters"] = {"intra_op_thread_count": {"string_value": str(intra_op_threads)}}
        if instance_kind == "KIND_GPU" and execution_provider == "tensorrt":
            config["optimization"] = {"execution_accelerators": {"gpu_execution_accelerator": [
                {"name": "tensorrt",
                 "parameters": {"precision_mode": "FP16", "max_workspace_size_bytes": str(1 << 30)}},
            ]}}
    return config


def preferred_batch_sizes(max_batch_size: int) -> list[int]:
    """Powers of two from 8 up to `max_batch_size` (and it): the sizes the worker's batches reach."""
    sizes = [n for n in (8, 16, 32, 64, 128, 256) if n < max_batch_size]
    return [*sizes, max_batch_size]


class TritonBackend(GeneratorBackend):
    def __init__(
        self,
        grpc_url: str | None,
        admin_token: str,
        *,
        http_url: str | None = None,
        timeout_s: float = 30.0,
        load_timeout_s: float = 180.0,
        model_backend: ModelBackendKind = "python",
        max_loaded: int = 4,
        max_batch_size: int = 64,
        max_queue_delay_us: int = 2000,
        instances: int = 1,
        intra_op_threads: int = 1,
        instance_kind: InstanceKind = "KIND_CPU",
        execution_provider: ExecutionProvider = "auto",
    ) -> None:
        super().__init__(max_loaded)
        if grpc_url is None and http_url is None:
            raise ValueError("TritonBackend needs a gRPC or an HTTP url")
        self._grpc = GrpcTransport(grpc_url, admin_token) if grpc_url else None
        self._http = HttpTransport(http_url, admin_token) if http_url else None
        self._timeout_s = timeout_s
        self._load_timeout_s = load_timeout_s
        self._model_backend: ModelBackendKind = model_backend
        self._config_options: dict[str, Any] = {
            "max_batch_size": max_batch_size,
            "max_queue_delay_us": max_queue_delay_us,
            "instances": instances,
            "intra_op_threads": intra_op_threads,
            "instance_kind": instance_kind,
            "execution_provider": execution_provider,
        }
        self._python_model = PYTHON_MODEL_FILE.read_bytes() if model_backend == "python" else b""

    async def ready(self) -> bool:
        for transport in self._transports():
            if await transport.ready(min(self._timeout_s, 5.0)):
                return True
        return False

    async def close(self) -> None:
        for transport in self._transports():
            await transport.close()

    async def _load(self, key: Key, files: Mapping[str, bytes]) -> LoadedModel:
        # Check the export contract here, where the error names the model, rather than in Triton's log.
        session = await asyncio.to_thread(create_session, files[ONNX_FILE], key)
        entry = LoadedModel(key, onnx_image_shape(list(session.get_outputs()), key), dict(files))
        del session
        await self._apply(key[0], [*self._versions_of(key[0]), entry])
        return entry

    async def _unload(self, entry: LoadedModel) -> None:
        remaining = self._versions_of(entry.key[0])  # the entry is already out of the LRU
        if remaining:
            await self._apply(entry.key[0], remaining)
        else:
            await self._call("unload", entry.key[0], self._timeout_s)

    async def _infer(self, entry: LoadedModel, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        try:
            return await self._call("infer", entry.key[0], entry.key[1], z, self._timeout_s)  # type: ignore[no-any-return]
        except ModelNotLoaded:
            # Triton lost it (restart, external unload): forget it so the service loads it again.
            if self._loaded.get(entry.key) is entry:
                del self._loaded[entry.key]
            raise

    async def _apply(self, name: str, entries: list[LoadedModel]) -> None:
        """Load `name` with exactly these versions."""
        shapes = {e.image_shape for e in entries}
        shape = shapes.pop() if len(shapes) == 1 else (3, -1, -1)
        versions = [e.key[1] for e in entries]
        config = model_config(name, versions, shape, backend=self._model_backend, **self._config_options)
        files: dict[str, bytes] = {}
        for e in entries:
            files[f"file:{e.key[1]}/{ONNX_FILE}"] = e.files[ONNX_FILE]
            if self._model_backend == "python":
                files[f"file:{e.key[1]}/model.py"] = self._python_model
        await self._call("load", name, json.dumps(config), files, self._load_timeout_s)

    async def _call(self, method: str, *args: Any) -> Any:
        # gRPC first; HTTP only when gRPC cannot connect at all (a timed-out call may still be
        # running on the server, and repeating a load there would only queue a second one).
        transports = self._transports()
        for i, transport in enumerate(transports):
            try:
                return await getattr(transport, method)(*args)
            except TritonDown:
                if i == len(transports) - 1:
                    raise
        raise BackendUnavailable("no Triton transport configured")

    def _transports(self) -> list[GrpcTransport | HttpTransport]:
        return [t for t in (self._grpc, self._http) if t is not None]
