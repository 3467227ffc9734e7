"""TritonBackend against the embedded Triton: load through the repository override, infer, hot
reload under load, LRU eviction, admin-key enforcement, HTTP fallback — compared with ONNX Runtime.

Runs its own Triton (a private instance, so eviction and unloads cannot disturb other tests).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import tritonclient.grpc.aio as grpcclient
from torch import nn

from deploy.local import procs
from deploy.local.triton import TritonServer, start_triton
from services.inference import latents, png_codec
from services.inference.backends import ModelNotLoaded
from services.inference.backends.onnx_local import OnnxLocalBackend
from services.inference.backends.triton import TritonBackend
from services.inference.backends.triton_transport import TritonAdminRefused

ADMIN_TOKEN = "test-admin-token"
MODEL_A, MODEL_B, MODEL_C = "01JATELIERMODELAAAAAAAAAAA", "01JATELIERMODELBBBBBBBBBBB", "01JATELIERMODELCCCCCCCCCCC"


class TinyGenerator(nn.Module):
    """DCGAN-shaped: z [N,128] → project to 4x4 → three upsampling deconvolutions → [N,3,32,32]."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(128, 32 * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 3, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, 32, 4, 4))


def export_generator(seed: int) -> bytes:
    torch.manual_seed(seed)
    model = TinyGenerator().eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        (torch.zeros(1, 128),),
        buf,
        input_names=["z"],
        output_names=["image"],
        dynamic_axes={"z": {0: "n"}, "image": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    return buf.getvalue()


@pytest.fixture(scope="module")
def onnx_models() -> dict[int, bytes]:
    return {seed: export_generator(seed) for seed in (1, 2, 3)}


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    state: Path = tmp_path_factory.mktemp("triton-state")
    server = start_triton(state, ADMIN_TOKEN)
    try:
        yield server
    finally:
        procs.stop_all([server.record], grace_s=10.0)


@pytest.fixture
async def backend(triton: TritonServer) -> AsyncIterator[TritonBackend]:
    b = TritonBackend(triton.grpc_url, ADMIN_TOKEN, http_url=triton.http_url, timeout_s=30.0, max_loaded=2)
    try:
        yield b
    finally:
        for model_id, version in b.loaded():
            await b.unload(model_id, version)
        await b.close()


@pytest.fixture
async def local() -> AsyncIterator[OnnxLocalBackend]:
    b = OnnxLocalBackend(max_loaded=4)
    yield b
    await b.close()


async def test_triton_output_matches_onnx_runtime_and_gives_the_same_png(backend, local, onnx_models) -> None:  # type: ignore[no-untyped-def]
    files = {"model.onnx": onnx_models[1]}
    await backend.load(MODEL_A, 1, files)
    await local.load(MODEL_A, 1, files)
    z = latents.sample(seed=2024, count=8).z
    served = await backend.infer(MODEL_A, 1, z)
    reference = await local.infer(MODEL_A, 1, z)
    assert served.shape == (8, 3, 32, 32) and served.dtype == np.float32
    np.testing.assert_allclose(served, reference, atol=1e-5)
    served_png, reference_png = png_codec.images_to_png(served), png_codec.images_to_png(reference)
    for i in range(8):
        if np.array_equal(served[i], reference[i]):
            assert served_png[i] == reference_png[i]
    assert sum(a == b for a, b in zip(served_png, reference_png, strict=True)) >= 6
    # Same request again: same bytes (determinism on one runtime).
    assert png_codec.images_to_png(await backend.infer(MODEL_A, 1, z)) == served_png

    # Concurrent single-image requests are batched by Triton and each gets its own image back.
    singles = latents.sample(seed=77, count=16).z
    start = time.perf_counter()
    results = await asyncio.gather(*(backend.infer(MODEL_A, 1, singles[i : i + 1]) for i in range(16)))
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(np.concatenate(results), await local.infer(MODEL_A, 1, singles), atol=1e-5)
    print(f"triton: 16 concurrent single-image requests in {elapsed * 1000:.0f} ms")


async def test_new_version_loads_while_requests_flow_without_failures(backend, local, onnx_models) -> None:  # type: ignore[no-untyped-def]
    await backend.load(MODEL_A, 1, {"model.onnx": onnx_models[1]})
    await local.load(MODEL_A, 2, {"model.onnx": onnx_models[2]})
    z = latents.sample(seed=5, count=4).z
    expected_v1 = await backend.infer(MODEL_A, 1, z)
    done = asyncio.Event()
    served: list[int] = []
    failures: list[BaseException] = []

    async def client(version: int) -> None:
        while not done.is_set():
            try:
                images = await backend.infer(MODEL_A, version, z)
                np.testing.assert_allclose(images, expected_v1, atol=1e-5)
                served.append(version)
            except BaseException as exc:  # every failure counts
                failures.append(exc)
                return

    clients = [asyncio.create_task(client(1)) for _ in range(6)]
    await asyncio.sleep(0.3)
    before = len(served)
    await backend.load(MODEL_A, 2, {"model.onnx": onnx_models[2]})  # v1 keeps serving meanwhile
    v2 = await backend.infer(MODEL_A, 2, z)
    np.testing.assert_allclose(v2, await local.infer(MODEL_A, 2, z), atol=1e-5)
    assert not np.allclose(v2, expected_v1, atol=1e-3)

    # Loading another model beyond max_loaded=2 evicts the least recently used version (v2, idle),
    # which reloads model A with v1 only — while v1's requests keep flowing.
    await backend.load(MODEL_B, 1, {"model.onnx": onnx_models[3]})
    await asyncio.sleep(0.3)
    done.set()
    await asyncio.gather(*clients)
    assert failures == []
    assert len(served) - before > 20, "requests kept being served during the reloads"
    assert sorted(backend.loaded()) == [(MODEL_A, 1), (MODEL_B, 1)]
    with pytest.raises(ModelNotLoaded):
        await backend.infer(MODEL_A, 2, z)
    print(f"triton: {len(served)} requests, 0 failures across 2 reloads")


async def test_lru_unloads_the_least_recently_used_version(backend, triton, onnx_models) -> None:  # type: ignore[no-untyped-def]
    z = latents.sample(seed=9, count=2).z
    await backend.load(MODEL_A, 1, {"model.onnx": onnx_models[1]})
    await backend.load(MODEL_B, 1, {"model.onnx": onnx_models[2]})
    await backend.infer(MODEL_A, 1, z)  # A is now the most recently used
    await backend.load(MODEL_C, 1, {"model.onnx": onnx_models[3]})
    assert backend.loaded() == [(MODEL_A, 1), (MODEL_C, 1)]
    # Triton itself no longer serves B, and still serves A and C.
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    try:
        assert not await client.is_model_ready(MODEL_B, "1", client_timeout=5)
        assert await client.is_model_ready(MODEL_A, "1", client_timeout=5)
        assert await client.is_model_ready(MODEL_C, "1", client_timeout=5)
    finally:
        await client.close()
    with pytest.raises(ModelNotLoaded):
        await backend.infer(MODEL_B, 1, z)
    assert (await backend.infer(MODEL_C, 1, z)).shape == (2, 3, 32, 32)


async def test_loading_without_the_admin_token_is_refused(triton, onnx_models) -> None:  # type: ignore[no-untyped-def]
    for grpc_url, http_url in ((triton.grpc_url, None), (None, triton.http_url)):
        intruder = TritonBackend(grpc_url, "wrong-token", http_url=http_url, timeout_s=10.0)
        try:
            with pytest.raises(TritonAdminRefused):
                await intruder.load(MODEL_C, 7, {"model.onnx": onnx_models[1]})
            assert intruder.loaded() == []
        finally:
            await intruder.close()


async def test_http_fallback_when_grpc_is_unreachable(triton, onnx_models) -> None:  # type: ignore[no-untyped-def]
    dead_grpc = f"127.0.0.1:{procs.free_port()}"
    b = TritonBackend(dead_grpc, ADMIN_TOKEN, http_url=triton.http_url, timeout_s=10.0)
    try:
        assert await b.ready()
        await b.load(MODEL_C, 3, {"model.onnx": onnx_models[3]})
        images = await b.infer(MODEL_C, 3, latents.sample(seed=1, count=3).z)
        assert images.shape == (3, 3, 32, 32) and np.abs(images).max() <= 1.0
        await b.unload(MODEL_C)
        assert b.loaded() == []
    finally:
        await b.close()
