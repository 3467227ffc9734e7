"""Export a trained generator to ONNX for Triton, checked against torch before it ships.

The ONNX graph takes `z` [N, 128] FP32 (dynamic N) and returns `image` [N, 3, S, S] in [-1, 1].
A flat-colour style's generator ends with its palette snap (palette.PaletteDecoder: a distance to
each palette colour, ArgMin, Gather) inside the same graph, so the inference contract is unchanged.
The same tensor names are used by the local Python-backend model and production's onnxruntime
backend, so the inference client does not care which one serves it.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from services.trainer.models import LATENT_DIM, load_generator
from services.trainer.palette import PaletteDecoder
from shared.contracts.triton import CONFIG_FILE, INPUT_NAME, ONNX_FILE, OUTPUT_NAME

OPSET = 17
MAX_ABS_DIFF = 1e-4
# With a palette snap, a pixel almost equidistant from two palette colours may snap differently in
# onnxruntime and torch (float rounding of the distances): that many pixels may differ, no more.
MAX_SNAP_FLIPS = 1e-3


class ExportError(RuntimeError):
    """The exported graph does not reproduce the torch model."""


def export_onnx(generator: nn.Module, *, verify: bool = True, seed: int = 0) -> bytes:
    """Serialise `generator` (eval mode) to ONNX bytes; by default verify it with onnxruntime."""
    generator = generator.cpu().eval()
    example = torch.zeros(2, LATENT_DIM)
    buf = io.BytesIO()
    # dynamo=False: the TorchScript exporter is self-contained (the dynamo one needs onnxscript,
    # which is not installed) and handles these plain conv/upsample graphs exactly.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            generator, (example,), buf,  # type: ignore[arg-type]  # file objects are accepted
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    if verify:
        verify_onnx(generator, data, seed=seed)
    return data


def export_generator_state(generator_state: bytes, *, verify: bool = True) -> bytes:
    """ONNX bytes from `training.TrainResult.generator_state`."""
    return export_onnx(load_generator(generator_state), verify=verify)


def verify_onnx(generator: nn.Module, onnx_bytes: bytes, *, seed: int = 0,
                batch_sizes: tuple[int, ...] = (1, 5)) -> float:
    """Max abs difference between onnxruntime and torch on random z; ExportError above MAX_ABS_DIFF.

    For a palette-snapping generator the returned figure is over the pixels that snapped alike;
    the ones that did not (near-ties, see MAX_SNAP_FLIPS) must be rare and still palette colours.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    palette = generator.colours().detach().cpu().numpy() if isinstance(generator, PaletteDecoder) else None
    worst, flips, pixels = 0.0, 0, 0
    generator = generator.cpu().eval()
    for n in batch_sizes:
        z = rng.standard_normal((n, LATENT_DIM)).astype(np.float32)
        (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: z})
        with torch.no_grad():
            want = generator(torch.from_numpy(z)).numpy()
        if got.shape != want.shape:
            raise ExportError(f"ONNX output shape {got.shape} != torch {want.shape}")
        diff = np.abs(got - want).max(axis=1)  # [N, H, W]: per pixel
        if palette is not None:
            off = diff >= MAX_ABS_DIFF
            on_palette = np.abs(got.transpose(0, 2, 3, 1)[off][:, None, :] - palette[None]).max(-1).min(-1)
            if len(on_palette) and float(on_palette.max()) >= MAX_ABS_DIFF:
                raise ExportError("ONNX output has pixels outside the palette")
            flips, pixels = flips + int(off.sum()), pixels + off.size
            diff = diff[~off]
        worst = max(worst, float(diff.max()) if diff.size else 0.0)
    if palette is not None and flips > MAX_SNAP_FLIPS * pixels:
        raise ExportError(f"{flips} of {pixels} pixels snap to other palette colours than in torch")
    if worst >= MAX_ABS_DIFF:
        raise ExportError(f"ONNX output differs from torch by {worst:.2e} (limit {MAX_ABS_DIFF:.0e})")
    return worst


def triton_config(model_name: str, image_size: int, backend: Literal["onnxruntime", "python"],
                  max_batch_size: int = 64, max_queue_delay_us: int = 10_000, intra_op_threads: int = 1) -> str:
    """`config.pbtxt` for a generator in a Triton model repository, dynamic batching on.

    With max_batch_size > 0 Triton adds the batch dimension itself, so dims exclude it.
    """
    if backend not in ("onnxruntime", "python"):
        raise ValueError(f"unsupported Triton backend {backend!r}")
    if not model_name or any(c in model_name for c in '"\\/\n'):
        raise ValueError(f"invalid model name {model_name!r}")
    lines = [
        f'name: "{model_name}"',
        f'backend: "{backend}"',
        f"max_batch_size: {max_batch_size}",
        "input [",
        f'  {{ name: "{INPUT_NAME}" data_type: TYPE_FP32 dims: [ {LATENT_DIM} ] }}',
        "]",
        "output [",
        f'  {{ name: "{OUTPUT_NAME}" data_type: TYPE_FP32 dims: [ 3, {image_size}, {image_size} ] }}',
        "]",
        f"dynamic_batching {{ max_queue_delay_microseconds: {max_queue_delay_us}"
        f" preferred_batch_size: [ {', '.join(str(n) for n in _preferred(max_batch_size))} ] }}",
        'instance_group [ { count: 1 kind: KIND_AUTO } ]',
    ]
    thread_key = "intra_op_thread_count" if backend == "onnxruntime" else "intra_op_threads"
    lines.append(f'parameters {{ key: "{thread_key}" value: {{ string_value: "{intra_op_threads}" }} }}')
    if backend == "onnxruntime":
        lines.append(f'default_model_filename: "{ONNX_FILE}"')
    return "\n".join(lines) + "\n"


def _preferred(max_batch_size: int) -> list[int]:
    """Batch sizes Triton runs at once, without waiting out the queue delay (as the inference side)."""
    return [*(n for n in (8, 16, 32, 64, 128, 256) if n < max_batch_size), max_batch_size]


def repository_files(model_name: str, version: int, onnx_bytes: bytes, image_size: int,
                     backend: Literal["onnxruntime", "python"]) -> dict[str, bytes]:
    """Triton model-repository layout, relative to the repository root: <name>/config.pbtxt and
    <name>/<version>/model.onnx (the Python backend's model.py is added by the inference side)."""
    if version < 1:
        raise ValueError("Triton model versions start at 1")
    return {
        f"{model_name}/{CONFIG_FILE}": triton_config(model_name, image_size, backend).encode(),
        f"{model_name}/{version}/{ONNX_FILE}": onnx_bytes,
    }
