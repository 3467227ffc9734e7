"""The two ways of talking to Triton: gRPC (asyncio, preferred) and HTTP (fallback), one surface.

Every call carries a timeout. Errors come out as the backend's own types: `TritonDown` when the server
cannot be reached at all (the only case where trying the other protocol makes sense),
`BackendUnavailable` for timeouts and overload, `ModelNotLoaded` when Triton does not serve the
version, `BackendError` otherwise. The model-repository API is restricted by an admin key: Triton
expects the header `admin-key` over HTTP and `triton-grpc-protocol-admin-key` over gRPC (it prefixes
gRPC header names).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import numpy as np
import tritonclient.grpc.aio as grpcclient
import tritonclient.http.aio as httpclient
from tritonclient.utils import InferenceServerException

from services.inference.backends.base import (
    BackendError,
    BackendUnavailable,
    ModelNotLoaded,
)
from shared.contracts.triton import INPUT_NAME, OUTPUT_NAME

ADMIN_HEADER = "admin-key"
GRPC_HEADER_PREFIX = "triton-grpc-protocol-"


class TritonDown(BackendUnavailable):
    """No connection to Triton over this protocol."""


class TritonAdminRefused(BackendError):
    """The model-repository API refused the admin key (misconfiguration, not transient)."""


def _translate(exc: Exception, what: str) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return BackendUnavailable(f"{what}: timed out")
    if isinstance(exc, aiohttp.ClientConnectionError | ConnectionError):
        return TritonDown(f"{what}: {exc}")
    message = exc.message() if isinstance(exc, InferenceServerException) else str(exc)
    status = (exc.status() if isinstance(exc, InferenceServerException) else None) or ""
    lowered = (message or "").lower()
    if "restricted" in lowered or "admin-key" in lowered:
        return TritonAdminRefused(f"{what}: {message}")
    if "unknown model" in lowered or "is not found" in lowered or "not available" in lowered:
        return ModelNotLoaded(f"{what}: {message}")
    if "DEADLINE_EXCEEDED" in status or "deadline exceeded" in lowered:
        return BackendUnavailable(f"{what}: timed out")
    if "UNAVAILABLE" in status or "failed to connect" in lowered or "connection refused" in lowered:
        return TritonDown(f"{what}: {message}")
    return BackendError(f"{what}: {message}")


# `ready` asks Triton's *live* endpoint: its ready endpoint (strict readiness) turns false while any
# model loads or unloads, which would make the service flap out of its load balancer on every reload.


class GrpcTransport:
    def __init__(self, url: str, admin_token: str) -> None:
        self._client = grpcclient.InferenceServerClient(url)
        self._admin = {GRPC_HEADER_PREFIX + ADMIN_HEADER: admin_token}

    async def ready(self, timeout_s: float) -> bool:
        try:
            return bool(await self._client.is_server_live(client_timeout=timeout_s))
        except Exception:  # any failure means "not ready"
            return False

    async def load(self, name: str, config: str, files: Mapping[str, bytes], timeout_s: float) -> None:
        try:
            await self._client.load_model(
                name, headers=self._admin, config=config, files=dict(files), client_timeout=timeout_s
            )
        except Exception as exc:
            raise _translate(exc, f"load {name}") from exc

    async def unload(self, name: str, timeout_s: float) -> None:
        try:
            await self._client.unload_model(name, headers=self._admin, client_timeout=timeout_s)
        except Exception as exc:
            raise _translate(exc, f"unload {name}") from exc

    async def index(self, timeout_s: float) -> list[dict[str, str]]:
        try:
            result = await self._client.get_model_repository_index(
                headers=self._admin, as_json=True, client_timeout=timeout_s
            )
        except Exception as exc:
            raise _translate(exc, "repository index") from exc
        return list(result.get("models", []))

    async def infer(self, name: str, version: int, z: np.ndarray[Any, Any], timeout_s: float) -> np.ndarray[Any, Any]:
        tensor = grpcclient.InferInput(INPUT_NAME, list(z.shape), "FP32")
        tensor.set_data_from_numpy(z)
        try:
            result = await self._client.infer(
                name,
                [tensor],
                model_version=str(version),
                outputs=[grpcclient.InferRequestedOutput(OUTPUT_NAME)],
                client_timeout=timeout_s,
            )
        except Exception as exc:
            raise _translate(exc, f"infer {name} v{version}") from exc
        return np.asarray(result.as_numpy(OUTPUT_NAME), dtype=np.float32)

    async def close(self) -> None:
        await self._client.close()


class HttpTransport:
    def __init__(self, url: str, admin_token: str) -> None:
        self._url = url
        self._client = httpclient.InferenceServerClient(url)
        self._session = aiohttp.ClientSession(f"http://{url}")
        self._admin = {ADMIN_HEADER: admin_token}

    async def ready(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await self._client.is_server_live())
        except Exception:
            return False

    async def load(self, name: str, config: str, files: Mapping[str, bytes], timeout_s: float) -> None:
        # tritonclient's HTTP aio load_model cannot send files (it puts bytes into json.dumps), so
        # this one request is made directly: file contents travel base64-encoded.
        parameters: dict[str, str] = {"config": config}
        parameters.update({path: base64.b64encode(data).decode() for path, data in files.items()})
        await self._post(f"/v2/repository/models/{name}/load", {"parameters": parameters}, timeout_s, name)

    async def unload(self, name: str, timeout_s: float) -> None:
        body = {"parameters": {"unload_dependents": False}}
        await self._post(f"/v2/repository/models/{name}/unload", body, timeout_s, name)

    async def infer(self, name: str, version: int, z: np.ndarray[Any, Any], timeout_s: float) -> np.ndarray[Any, Any]:
        tensor = httpclient.InferInput(INPUT_NAME, list(z.shape), "FP32")
        tensor.set_data_from_numpy(z, binary_data=True)
        try:
            async with asyncio.timeout(timeout_s):
                result = await self._client.infer(
                    name,
                    [tensor],
                    model_version=str(version),
                    outputs=[httpclient.InferRequestedOutput(OUTPUT_NAME, binary_data=True)],
                )
        except Exception as exc:
            raise _translate(exc, f"infer {name} v{version}") from exc
        return np.asarray(result.as_numpy(OUTPUT_NAME), dtype=np.float32)

    async def _post(self, path: str, body: Mapping[str, Any], timeout_s: float, name: str) -> None:
        try:
            async with self._session.post(
                path, data=json.dumps(body), headers=self._admin, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:500]
                    raise _translate(InferenceServerException(detail, str(resp.status)), f"{path}")
        except Exception as exc:
            raise _translate(exc, f"{path} ({name})") from exc

    async def close(self) -> None:
        await self._client.close()
        await self._session.close()
