"""The backend interface on in-process ONNX Runtime: load, infer, LRU, contract checks."""

import io

import numpy as np
import pytest
import torch
from torch import nn

from services.inference import latents
from services.inference.backends import InvalidModel, ModelNotLoaded
from services.inference.backends.onnx_local import OnnxLocalBackend
from services.inference.backends.triton import model_config


def _export(seed: int, input_name: str = "z", size: int = 16) -> bytes:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(128, 3 * size * size), nn.Tanh(), nn.Unflatten(1, (3, size, size)))
    buf = io.BytesIO()
    torch.onnx.export(
        model.eval(),
        (torch.zeros(1, 128),),
        buf,
        input_names=[input_name],
        output_names=["image"],
        dynamic_axes={input_name: {0: "n"}, "image": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    return buf.getvalue()


@pytest.fixture(scope="module")
def models() -> dict[int, bytes]:
    return {seed: _export(seed) for seed in (1, 2, 3)}


async def test_infer_returns_images_and_is_deterministic(models) -> None:  # type: ignore[no-untyped-def]
    backend = OnnxLocalBackend(max_loaded=2)
    try:
        await backend.load("m", 1, {"model.onnx": models[1]})
        z = latents.sample(seed=3, count=5).z
        images = await backend.infer("m", 1, z)
        assert images.shape == (5, 3, 16, 16) and images.dtype == np.float32
        assert np.abs(images).max() <= 1.0
        assert np.array_equal(images, await backend.infer("m", 1, z))
        # Batching does not change an image: the first row alone gives the same pixels.
        np.testing.assert_allclose(await backend.infer("m", 1, z[:1]), images[:1], atol=1e-6)
        with pytest.raises(ModelNotLoaded):
            await backend.infer("m", 2, z)
        with pytest.raises(ValueError):
            await backend.infer("m", 1, np.zeros((2, 64), np.float32))
    finally:
        await backend.close()


async def test_least_recently_used_version_is_unloaded(models) -> None:  # type: ignore[no-untyped-def]
    backend = OnnxLocalBackend(max_loaded=2)
    z = latents.sample(seed=1, count=1).z
    try:
        await backend.load("a", 1, {"model.onnx": models[1]})
        await backend.load("b", 1, {"model.onnx": models[2]})
        await backend.infer("a", 1, z)
        await backend.load("c", 1, {"model.onnx": models[3]})
        assert backend.loaded() == [("a", 1), ("c", 1)]
        with pytest.raises(ModelNotLoaded):
            await backend.infer("b", 1, z)
        await backend.load("a", 1, {"model.onnx": models[1]})  # already loaded: no-op, now most recent
        assert backend.loaded() == [("c", 1), ("a", 1)]
        await backend.unload("a")
        assert backend.loaded() == [("c", 1)]
    finally:
        await backend.close()


async def test_models_breaking_the_export_contract_are_rejected() -> None:
    backend = OnnxLocalBackend()
    try:
        with pytest.raises(InvalidModel):
            await backend.load("m", 1, {"weights.bin": b"x"})
        with pytest.raises(InvalidModel):
            await backend.load("m", 1, {"model.onnx": b"not onnx"})
        with pytest.raises(InvalidModel):
            await backend.load("m", 1, {"model.onnx": _export(1, input_name="latent")})
        assert backend.loaded() == []
    finally:
        await backend.close()


def test_triton_config_keeps_tensor_names_and_lists_the_loaded_versions() -> None:
    local = model_config("m", [2, 1], (3, 64, 64))
    assert local["backend"] == "python"
    assert local["input"] == [{"name": "z", "data_type": "TYPE_FP32", "dims": [128]}]
    assert local["output"] == [{"name": "image", "data_type": "TYPE_FP32", "dims": [3, 64, 64]}]
    assert local["version_policy"] == {"specific": {"versions": [1, 2]}}
    assert "dynamic_batching" in local
    production = model_config("m", [1], (3, 64, 64), backend="onnxruntime")
    assert production["backend"] == "onnxruntime"
    assert production["input"] == local["input"] and production["output"] == local["output"]


def test_the_served_config_prefers_the_batch_sizes_the_worker_sends() -> None:
    from services.inference.backends.triton import model_config

    config = model_config("m", [1], (3, 64, 64), max_batch_size=64, max_queue_delay_us=5000)
    assert config["dynamic_batching"] == {"max_queue_delay_microseconds": 5000,
                                          "preferred_batch_size": [8, 16, 32, 64]}
    assert model_config("m", [1], (3, 64, 64), max_batch_size=12)["dynamic_batching"]["preferred_batch_size"] == [8, 12]
