"""A training run's settings: architecture, size, steps, recipe, evaluation; what the loop
(training.py) and the evaluation (evaluation.py) read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.trainer.models import DEFAULT_WIDTH


class TrainConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    architecture: Literal["dcgan", "collage", "vae"]
    image_size: Literal[32, 64, 128] = 32
    steps: int = Field(ge=1, le=1_000_000)
    batch_size: int = Field(default=32, ge=1, le=1024)
    lr: float | None = Field(default=None, gt=0, le=1.0)  # None: see learning_rate
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
        """The given lr, else 2e-4 for the dcgan recipe (the DCGAN paper's) and 1e-3 for the fewshot
        recipe and the VAE: with a patch discriminator and betas (0, 0.99) 1e-3 reached a held-out SWD
        of 0.109 of untrained in 4 CPU-minutes where 2e-4 reached 0.159, with recall 0.62 vs 0."""
        if self.lr is not None:
            return self.lr
        return 2e-4 if (self.architecture, self.recipe) == ("dcgan", "dcgan") else 1e-3
