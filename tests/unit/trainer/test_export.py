import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from services.trainer.export import (
    ExportError,
    export_generator_state,
    export_onnx,
    repository_files,
    triton_config,
    verify_onnx,
)
from services.trainer.models import build, generator_for_export, generator_state_bytes


@pytest.mark.parametrize(("architecture", "size"), [("dcgan", 32), ("vae", 64), ("collage", 64)])
def test_onnx_generator_matches_torch_for_any_batch(architecture: str, size: int) -> None:
    torch.manual_seed(2)
    bundle = build(architecture, size, width=8)
    data = export_generator_state(generator_state_bytes(bundle))
    graph = onnx.load_from_string(data).graph
    assert [i.name for i in graph.input] == ["z"] and [o.name for o in graph.output] == ["image"]
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    z = np.random.default_rng(0).standard_normal((7, 128)).astype(np.float32)
    (image,) = session.run(["image"], {"z": z})
    generator = generator_for_export(bundle).eval()
    with torch.no_grad():
        want = generator(torch.from_numpy(z)).numpy()
    assert image.shape == (7, 3, size, size)
    assert np.abs(image - want).max() < 1e-4


def test_verification_rejects_a_graph_that_differs_from_the_model() -> None:
    torch.manual_seed(3)
    exported = build("dcgan", 32, width=8).generator
    other = build("dcgan", 32, width=8).generator  # different random weights
    data = export_onnx(exported)
    assert verify_onnx(exported, data) < 1e-4
    with pytest.raises(ExportError):
        verify_onnx(other, data)


@pytest.mark.parametrize("backend", ["onnxruntime", "python"])
def test_triton_config_declares_batched_z_to_image(backend: str) -> None:
    text = triton_config("model_01", 64, backend, max_batch_size=32)
    assert f'backend: "{backend}"' in text
    assert "max_batch_size: 32" in text and "dynamic_batching" in text
    assert 'name: "z" data_type: TYPE_FP32 dims: [ 128 ]' in text
    assert 'name: "image" data_type: TYPE_FP32 dims: [ 3, 64, 64 ]' in text
    assert ('default_model_filename: "model.onnx"' in text) == (backend == "onnxruntime")
    with pytest.raises(ValueError):
        triton_config('bad"name', 64, backend)


def test_repository_layout_puts_the_model_in_its_version_folder() -> None:
    files = repository_files("m1", 3, b"onnx", 32, "python")
    assert files["m1/3/model.onnx"] == b"onnx"
    assert b'name: "m1"' in files["m1/config.pbtxt"]


def test_triton_config_fills_batches_with_one_intra_op_thread() -> None:
    text = triton_config("model_01", 64, "onnxruntime", max_batch_size=64, max_queue_delay_us=7000)
    assert "max_queue_delay_microseconds: 7000 preferred_batch_size: [ 8, 16, 32, 64 ]" in text
    assert 'key: "intra_op_thread_count" value: { string_value: "1" }' in text
