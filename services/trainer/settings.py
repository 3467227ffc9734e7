"""Settings of the trainer service (`ATELIER_*` environment variables).

Beyond the shared service, database and S3 variables:

- `ATELIER_TRAINER_GPU` (false): a GPU is available to the training processes; allows 128 px
  models and trains on CUDA.
- `ATELIER_TRAINER_MAX_ACTIVE_JOBS` (2): queued + running jobs one user may have at once.
- `ATELIER_TRAINER_MAX_STEPS` (20000): the most steps one job (train or refine) may ask for.
- `ATELIER_TRAINER_DEFAULT_WIDTH` (64): model width when the request names none.
- `ATELIER_TRAINER_PROGRESS_EVERY` (10), `ATELIER_TRAINER_PROGRESS_MIN_INTERVAL_S` (1.0): progress
  is reported every N steps (fewer on short runs) and published at most once per interval.
- `ATELIER_TRAINER_SAMPLE_EVERY` (200), `ATELIER_TRAINER_CHECKPOINT_EVERY` (100): steps between
  sample grids (stored as assets) and between checkpoints (object store); short runs do both
  more often so that every run has some.
- `ATELIER_TRAIN_ACK_WAIT_S` (60), `ATELIER_TRAIN_MAX_DELIVER` (5): the jobs.train consumer.
- `ATELIER_TRAINER_THREADS` (unset: all cores of the worker): torch threads of a training process.
- `ATELIER_TRAINER_TRITON_BACKEND` (onnxruntime): the backend named in the exported
  `config.pbtxt` (production's Triton; the local Python-backend Triton is configured by inference).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import DatabaseSettings, S3Settings, ServiceSettings


class TrainerSettings(ServiceSettings, DatabaseSettings, S3Settings):
    service_name: str = "trainer"
    http_port: int = Field(8083, ge=0, le=65535)

    trainer_gpu: bool = False
    trainer_max_active_jobs: int = Field(2, ge=1, le=100)
    trainer_max_steps: int = Field(20_000, ge=1, le=1_000_000)
    trainer_default_width: int = Field(64, ge=8, le=256)
    trainer_max_dataset_images: int = Field(1000, ge=1)
    trainer_max_image_bytes: int = Field(32 * 1024**2, ge=1024)
    trainer_progress_every: int = Field(10, ge=1)
    trainer_progress_min_interval_s: float = Field(1.0, ge=0)
    trainer_sample_every: int = Field(200, ge=1)
    trainer_checkpoint_every: int = Field(100, ge=1)
    trainer_cancel_poll_s: float = Field(1.0, gt=0)
    trainer_threads: int | None = Field(None, ge=1)
    trainer_triton_backend: Literal["onnxruntime", "python"] = "onnxruntime"
    trainer_refine_min_score: int = Field(4, ge=1, le=5)

    # Kept alive by the consumer's in_progress heartbeats (every third of it) while a job runs, so it
    # only bounds how soon a killed worker's job is redelivered to another one.
    train_ack_wait_s: float = Field(6.0, gt=1)
    train_max_deliver: int = Field(5, ge=1)

    assets_timeout_s: float = Field(30.0, gt=0)
    community_timeout_s: float = Field(10.0, gt=0)
    inference_timeout_s: float = Field(10.0, gt=0)
    download_timeout_s: float = Field(30.0, gt=0)

    @property
    def max_image_size(self) -> int:
        return 128 if self.trainer_gpu else 64
