"""Settings of the inference service (`ATELIER_*` environment variables).

Beyond the shared service, database, S3 and Triton variables:

- `ATELIER_INFERENCE_BACKEND` (triton): `triton`, or `onnx_local` (in-process ONNX Runtime, for
  places where no Triton runs).
- `ATELIER_TRITON_MODEL_BACKEND` (python): the Triton backend that serves the exported ONNX files:
  `python` for the local Triton (PyPI nvidia-pytriton ships only that one), `onnxruntime` in
  production's official Triton image.
- `ATELIER_INFERENCE_MAX_LOADED_MODELS` (4): model versions kept loaded; one more unloads the least
  recently used (it is loaded again from the object store when next asked for).
- `ATELIER_TRITON_LOAD_TIMEOUT_S` (180): how long one load may take.
- `ATELIER_TRITON_INSTANCES` (1), `ATELIER_TRITON_INTRA_OP_THREADS` (1): model instances per loaded
  version and ONNX Runtime threads per instance (CPU Triton); GPUs want 1 and 1.
- `ATELIER_TRITON_INSTANCE_KIND` (KIND_CPU): where Triton runs each model instance, `KIND_CPU` or
  `KIND_GPU` (production's overlay: GPU, on the onnxruntime backend).
- `ATELIER_TRITON_EXECUTION_PROVIDER` (auto): ONNX Runtime's provider: `auto` (CUDA when the
  instance is on a GPU, or, on the Python backend, when onnxruntime-gpu and a GPU are present;
  else CPU), `cpu`, `cuda`, or `tensorrt` (TensorRT FP16, falling back to CUDA for what it cannot
  run). KIND_GPU with `cpu` is refused at start, and so is KIND_CPU with `cuda`/`tensorrt` on the
  onnxruntime backend (the Python backend's process may use a GPU either way).
- `ATELIER_TRITON_MAX_QUEUE_DELAY_US` (10000): how long Triton's dynamic batcher waits to fill a
  batch. Measured here (64 px DCGAN, 32 concurrent batch-1 clients, 2 cores): 2 ms → 85 images/s,
  10 ms → 222, 20 ms → 173. Jobs are asynchronous, so 10 ms more latency costs nothing visible.
- `ATELIER_INFERENCE_WORKERS` (2): batches of generation jobs handled at once by this process; they
  overlap, so one batch is in the runtime while another encodes, signs and stores.
- `ATELIER_GENERATE_BATCH_JOBS` (16): jobs one batch takes from the queue at most (several users'
  generations: one runtime call, one store call, one transaction for all of them);
  `ATELIER_GENERATE_BATCH_LINGER_MS` (5): how long a batch that is not full waits for more jobs.
- `ATELIER_INFERENCE_MAX_BATCH_IMAGES` (64): latents per runtime call (Triton's max_batch_size);
  a batch with more images makes several calls at once.
- `ATELIER_GENERATIONS_MAX_QUEUED_PER_USER` (8): a user's generations that may wait or run at once;
  one more is refused with 429 (`limit` in the problem, `Retry-After` in the answer).
- `ATELIER_TRAINER_TIMEOUT_S` (5): how long a request waits for the trainer's record of a version
  that this service has not heard is trained yet (its `trainer.model.trained` event still in flight).
- `ATELIER_C2PA_KEY_FILE`, `ATELIER_C2PA_CHAIN_FILE` (end-entity first, root omitted),
  `ATELIER_C2PA_TRUST_ANCHORS_FILE`: the signing credentials. Required in production; in
  development a local CA is made under `ATELIER_STATE_DIR/c2pa` when they are unset.
- `ATELIER_VERIFY_MAX_BYTES` (8 MiB): largest image `provenance.verify` accepts (the NATS payload
  limit may set a lower one: the gateway checks both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings, TritonSettings


class InferenceSettings(ServiceSettings, DatabaseSettings, S3Settings, TritonSettings):
    service_name: str = "inference"
    http_port: int = Field(8084, ge=0, le=65535)

    inference_backend: Literal["triton", "onnx_local"] = "triton"
    triton_model_backend: Literal["python", "onnxruntime"] = "python"
    inference_max_loaded_models: int = Field(4, ge=1, le=64)
    triton_load_timeout_s: float = Field(180.0, gt=0)
    triton_instances: int = Field(1, ge=1, le=16)
    triton_max_queue_delay_us: int = Field(10_000, ge=0, le=1_000_000)
    triton_intra_op_threads: int = Field(1, ge=1, le=64)
    triton_instance_kind: Literal["KIND_CPU", "KIND_GPU"] = "KIND_CPU"
    triton_execution_provider: Literal["auto", "cpu", "cuda", "tensorrt"] = "auto"
    inference_workers: int = Field(2, ge=1, le=64)
    generate_batch_jobs: int = Field(16, ge=1, le=64)
    generate_batch_linger_ms: float = Field(5.0, ge=0, le=1000)
    inference_max_batch_images: int = Field(64, ge=1, le=1024)
    generations_max_queued_per_user: int = Field(8, ge=1, le=10_000)
    trainer_timeout_s: float = Field(5.0, gt=0)
    # A job that keeps failing is dead-lettered (marked failed) after this many deliveries.
    generate_max_deliver: int = Field(5, ge=1)
    # Kept alive by the consumer's in_progress heartbeats (every third of it) while a batch runs, so it
    # only bounds how soon a killed worker's jobs are redelivered (30 s left them waiting half a minute).
    generate_ack_wait_s: float = Field(6.0, gt=1)
    assets_timeout_s: float = Field(30.0, gt=0)
    community_timeout_s: float = Field(10.0, gt=0)
    # Reserving a generation's credits on someone else's model (`svc.market.reservations.create`).
    market_timeout_s: float = Field(10.0, gt=0)

    c2pa_key_file: Path | None = None
    c2pa_chain_file: Path | None = None
    c2pa_trust_anchors_file: Path | None = None
    verify_max_bytes: int = Field(8 * 1024**2, ge=1024)

    @model_validator(mode="after")
    def _device(self) -> InferenceSettings:
        gpu_provider = self.triton_execution_provider in ("cuda", "tensorrt")
        if self.triton_instance_kind == "KIND_GPU" and self.triton_execution_provider == "cpu":
            raise ValueError("ATELIER_TRITON_INSTANCE_KIND=KIND_GPU needs an execution provider other than cpu")
        if self.triton_instance_kind == "KIND_CPU" and gpu_provider and self.triton_model_backend == "onnxruntime":
            raise ValueError(f"ATELIER_TRITON_EXECUTION_PROVIDER={self.triton_execution_provider} needs "
                             "ATELIER_TRITON_INSTANCE_KIND=KIND_GPU on the onnxruntime backend")
        return self

    @model_validator(mode="after")
    def _credentials(self) -> InferenceSettings:
        given = [self.c2pa_key_file, self.c2pa_chain_file]
        if any(given) and not all(given):
            raise ValueError("set both ATELIER_C2PA_KEY_FILE and ATELIER_C2PA_CHAIN_FILE, or neither")
        # Production without credentials is refused when the service starts (credentials.py), not
        # here: tooling that only reads settings (manifest checks, --migrate-only) must still work.
        return self

    @property
    def dev_ca_dir(self) -> Path:
        return self.state_dir / "c2pa"
