"""Generic Triton Python-backend model: runs the version's exported `model.onnx` with ONNX Runtime.

The local Triton (PyPI nvidia-pytriton) has only the Python backend, so development serves each style
model through this file, sent with the load request next to the ONNX file. Production's Triton uses
the onnxruntime backend on the same ONNX file with the same tensor names (`z` → `image`), so the
client code is identical. Triton's dynamic batcher hands `execute` several requests at once; they run
as one ONNX Runtime call, which is where batching pays off.

The execution provider comes from the `execution_provider` parameter (`auto`, `cpu`, `cuda`,
`tensorrt`): CUDA (or TensorRT, then CUDA) is used when onnxruntime-gpu offers it and a GPU is
there — on the instance's device when Triton placed it on a GPU — and CPU otherwise.

Loaded by Triton, not imported by the service: `triton_python_backend_utils` exists only inside the
Triton Python stub.
"""

import json
import os
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


def providers(wanted: str, available: list[str], device_id: int) -> list[Any]:
    """ONNX Runtime providers for `wanted`, best first, limited to what this build offers."""
    cuda = ("CUDAExecutionProvider", {"device_id": device_id})
    chain: list[Any] = ["CPUExecutionProvider"]
    if wanted in ("auto", "cuda", "tensorrt") and "CUDAExecutionProvider" in available and _gpu_present():
        chain.insert(0, cuda)
        if wanted == "tensorrt" and "TensorrtExecutionProvider" in available:
            chain.insert(0, ("TensorrtExecutionProvider", {"device_id": device_id, "trt_fp16_enable": True}))
    return chain


def _gpu_present() -> bool:
    """A CUDA device is visible (onnxruntime-gpu is installed on machines without one, too)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(os.path.exists(f"/dev/nvidia{i}") for i in range(16)) or os.path.exists("/dev/dxg")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        self.input_name = config["input"][0]["name"]
        self.output_name = config["output"][0]["name"]
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        options = ort.SessionOptions()
        # Each instance is its own process: bound its threads so several models share the CPU fairly.
        options.intra_op_num_threads = int(params.get("intra_op_threads") or 0)
        options.inter_op_num_threads = 1
        # No spinning: between small batches idle ORT threads would otherwise burn the CPU that
        # encoding, signing and storing need (measured: bench/bench_inference.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = ort.InferenceSession(path, options, providers=providers(
            params.get("execution_provider") or "auto", ort.get_available_providers(),
            int(args.get("model_instance_device_id") or 0)))
        logger = getattr(pb_utils, "Logger", None)  # Triton 23.04 and later
        if logger is not None:
            logger.log_info(f"{args.get('model_name')}: ONNX Runtime on {self.session.get_providers()}")

    def execute(self, requests: list[Any]) -> list[Any]:
        inputs = [pb_utils.get_input_tensor_by_name(r, self.input_name).as_numpy() for r in requests]
        try:
            batch = np.concatenate(inputs).astype(np.float32, copy=False)
            images = self.session.run([self.output_name], {self.input_name: batch})[0]
        except Exception as exc:  # one bad batch fails its requests, not the model
            error = pb_utils.TritonError(f"generator failed: {exc}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=error) for _ in requests]
        responses = []
        start = 0
        for z in inputs:
            part = images[start : start + len(z)]
            start += len(z)
            tensor = pb_utils.Tensor(self.output_name, np.ascontiguousarray(part, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses

    def finalize(self) -> None:
        self.session = None
