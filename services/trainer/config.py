"""A training run's settings: architecture, size, steps, recipe, evaluation; what the loop
(training.py) and the evaluation (evaluation.py) read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.trainer.models import DEFAULT_WIDTH


class TrainConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    architecture: Literal["dcgan", "vae"]
    image_size: Literal[32, 64, 128] = 32
    steps: int = Field(ge=1, le=1_000_000)
    batch_size: int = Field(default=32, ge=1, le=1024)
    lr: float | None = Field(default=None, gt=0, le=1.0)  # None: 2e-4 for dcgan, 1e-3 for vae
    augment: bool | None = None  # None: on when the dataset is small
    seed: int = 0
    width: int = Field(default=DEFAULT_WIDTH, ge=4, le=512)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    threads: int | None = Field(default=None, ge=1)  # None: this process's cores minus one
    eval_samples: int = Field(default=128, ge=16, le=8192)  # generated images for the final SWD
    eval_descriptors: int = Field(default=8192, ge=256, le=65536)  # SWD patches per pyramid level
    # GAN recipe: "fewshot" = spectral-norm discriminator, hinge loss, DiffAugment on real and
    # generated images (when `augment` is on), EMA generator; "dcgan" = the original recipe.
    recipe: Literal["fewshot", "dcgan"] = "fewshot"
    holdout: bool | None = None  # None: hold out every 5th work when there are >= 12
    # Style-aware decoding (palette.py): None = on for the fewshot recipe when the training works are
    # flat colour (outputs snap to their palette), off otherwise; False never; True whenever a palette
    # is found (any GAN recipe).
    palette: bool | None = None

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (2e-4 if self.architecture == "dcgan" else 1e-3)
