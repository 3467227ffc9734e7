"""Generic Triton Python-backend model: runs the version's exported `model.onnx` with ONNX Runtime.

The local Triton (PyPI nvidia-pytriton) has only the Python backend, so development serves each style
model through this file, sent with the load request next to the ONNX file. Production's Triton uses
the onnxruntime backend on the same ONNX file with the same tensor names (`z` → `image`), so the
client code is identical. Triton's dynamic batcher hands `execute` several requests at once; they run
as one ONNX Runtime call, which is where batching pays off.

Loaded by Triton, not imported by the service: `triton_python_backend_utils` exists only inside the
Triton Python stub.
"""

import json
import os
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


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
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

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
