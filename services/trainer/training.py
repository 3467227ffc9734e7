"""The training loop. Pure CPU/GPU work meant for a worker process: no asyncio, no I/O.

`train()` reports through callbacks (progress, sample grids, checkpoints) and polls `should_stop`
once per step. A checkpoint holds weights, optimiser states, the step and every RNG state, so a
redelivered job resumed from it ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import io
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from services.trainer import quality
from services.trainer.config import TrainConfig as TrainConfig  # the public name it always had
from services.trainer.dataset import ImageDataset
from services.trainer.diffaugment import diff_augment
from services.trainer.directions import latent_directions
from services.trainer.ema import update_ema
from services.trainer.evaluation import evaluate, generate, grid_png, liked_swd, seeded_bundle
from services.trainer.models import (
    GAN_ARCHITECTURES,
    LATENT_DIM,
    base_generator,
    generator_for_export,
    generator_padding,
    generator_state_bytes,
)
from services.trainer.palette import learn_palette

CHECKPOINT_FORMAT = 1
SAMPLE_GRID = 16  # images in a progress sample grid (4 x 4)
FEWSHOT_BETAS = (0.0, 0.99)  # Adam betas of the fewshot recipe (no momentum, as StyleGAN2's)
FEWSHOT_POLICY: tuple[str, ...] = ("color", "translation", "cutout")  # its DiffAugment transforms
MODE_SEEKING_WEIGHT = 1.0  # the collage generator's diversity term (see TrainingSession._fewshot_step)


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    losses: dict[str, float]  # means over the steps since the previous report
    eta_s: float
    samples_per_s: float


@dataclass
class TrainResult:
    status: Literal["succeeded", "canceled"]
    steps_done: int
    dataset_sha256: str
    generator_state: bytes  # models.load_generator() rebuilds the exportable module
    checkpoint: bytes  # full state, to resume or to fine-tune (refine) from
    metrics: dict[str, Any] = field(default_factory=dict)  # empty when canceled
    sample_png: bytes | None = None
    # Computed with the metrics (None when canceled or compute_metrics=False), to store with the
    # version: latent directions (directions.latent_directions) and the originality reference
    # (quality.originality_reference: descriptors of every work, no pixels).
    directions: dict[str, Any] | None = None
    originality: dict[str, Any] | None = None


@dataclass(frozen=True)
class Checkpoint:
    step: int
    architecture: str
    image_size: int
    dataset_sha256: str
    state: dict[str, Any]

    def same_recipe(self, config: TrainConfig) -> bool:
        """Whether this checkpoint's modules fit a run of `config`: same recipe, discriminator and
        generator padding (fewshot checkpoints written before the patch discriminator have a
        whole-image one, and a zero-padded generator)."""
        recipe = self.state.get("recipe", "dcgan")
        default = {"dcgan": "DCGANDiscriminator", "fewshot": "SNDiscriminator"}.get(recipe)
        kind = self.state.get("discriminator", default if self.architecture in GAN_ARCHITECTURES else None)
        padding = self.state.get("generator_padding", "zeros")
        return (recipe, kind, padding) == (bundle_recipe(config), discriminator_kind(config),
                                           generator_padding(config.architecture, config.recipe))

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        # RNG states and optimiser dicts hold numpy/python objects: not loadable with weights_only.
        blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
        if blob.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("unsupported checkpoint format")
        return cls(blob["step"], blob["architecture"], blob["image_size"], blob["dataset_sha256"], blob)


def _device(config: TrainConfig) -> torch.device:
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def configure_threads(config: TrainConfig) -> None:
    """Default: all but one of this process's cores, so the service's event loop (and NATS, the
    database...) keep one. On a busy 2-core machine two OpenMP threads spin against other processes:
    measured here, 100 small steps took 48 s with 2 threads vs 6 s with 1 (and 5 s with 2 when idle).
    """
    torch.set_num_threads(config.threads or max(1, len(os.sched_getaffinity(0)) - 1))


class TrainingSession:
    """Models, optimisers, RNGs and the step function for one training run.

    `wrap` lets ddp.py put DistributedDataParallel around the trained modules; optimisers and
    state dicts always use the unwrapped modules.
    """

    def __init__(self, config: TrainConfig, dataset: ImageDataset, device: torch.device,
                 wrap: Callable[[nn.Module], nn.Module] = lambda m: m, rank: int = 0):
        self.config, self.dataset, self.device = config, dataset, device
        self.all_images = dataset.tensors  # every work: the originality reference covers them all
        self.heldout: torch.Tensor | None = None
        if config.holdout is not False:  # True asks for it, but fewer than 12 works hold none out
            train_idx, held = quality.holdout_split(dataset.image_hashes)
            if held:
                dataset.tensors, self.heldout = self.all_images[train_idx], self.all_images[held]
                if dataset.weights is not None:
                    dataset.weights = dataset.weights[train_idx]
        # fewshot: augmentation moves from enlarging the real set to DiffAugment in the D step.
        self.diffaugment = False
        if config.architecture in GAN_ARCHITECTURES and config.recipe == "fewshot":
            self.diffaugment, dataset.augment = dataset.augment, False
        self.bundle = seeded_bundle(config, device)
        self.bundle.palette = style_palette(config, dataset.tensors)
        self.step = 0
        lr = config.learning_rate
        if self.bundle.vae is not None:
            self.vae = wrap(self.bundle.vae)
            self.optimisers = {"vae": torch.optim.Adam(self.bundle.vae.parameters(), lr)}
        else:
            assert self.bundle.discriminator is not None
            self.g, self.d = wrap(self.bundle.generator), wrap(self.bundle.discriminator)
            betas = FEWSHOT_BETAS if self.bundle.recipe == "fewshot" else (0.5, 0.999)
            self.optimisers = {
                "generator": torch.optim.Adam(self.bundle.generator.parameters(), lr, betas=betas),
                "discriminator": torch.optim.Adam(self.bundle.discriminator.parameters(), lr, betas=betas),
            }
        # Ranks differ in data and noise but share the initial weights (seeded_bundle above).
        torch.manual_seed(config.seed * 1000 + 1 + rank)
        np.random.seed((config.seed * 1000 + 1 + rank) % 2**32)
        random.seed(config.seed * 1000 + 1 + rank)
        self.data_rng = torch.Generator().manual_seed(config.seed * 1000 + 2 + rank)
        self.aug_rng = torch.Generator().manual_seed(config.seed * 1000 + 5 + rank)
        fixed = torch.Generator().manual_seed(config.seed * 1000 + 3)
        self.sample_z = torch.randn(SAMPLE_GRID, LATENT_DIM, generator=fixed).to(device)

    def train_step(self) -> dict[str, torch.Tensor]:
        real = self.dataset.batch(self.config.batch_size, self.data_rng).to(self.device, non_blocking=True)
        if self.bundle.vae is not None:
            losses = self._vae_step(real)
        elif self.bundle.recipe == "fewshot":
            losses = self._fewshot_step(real)
        else:
            losses = self._gan_step(real)
        self.step += 1
        return losses

    def _gan_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        opt_g, opt_d = self.optimisers["generator"], self.optimisers["discriminator"]
        fake = self.g(torch.randn(real.shape[0], LATENT_DIM, device=self.device))
        # Non-saturating GAN loss; softplus(-x) == BCE-with-logits against "real".
        d_loss = F.softplus(-self.d(real)).mean() + F.softplus(self.d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        torch.autograd.backward(d_loss)
        opt_d.step()
        g_loss = F.softplus(-self.d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        torch.autograd.backward(g_loss)
        opt_g.step()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.aug_rng, FEWSHOT_POLICY) if self.diffaugment else x

    def _fewshot_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hinge loss (Lim & Ye 2017) on DiffAugment-ed real and generated images; EMA update.

        The collage generator also gets a mode-seeking term (Mao et al. 2019): the batch's two
        halves' images must differ in proportion to their latents, or the generator settles on one
        layout that fools the discriminator. Measured (flat shapes, 20 works, 64 px, one thread,
        2 CPU-minutes): held-out SWD 0.20 of untrained with recall 0.44, against 0.49 and 0 without
        it (and without the discriminator's minibatch-std channel)."""
        opt_g, opt_d = self.optimisers["generator"], self.optimisers["discriminator"]
        z = torch.randn(real.shape[0], LATENT_DIM, device=self.device)
        fake = self.g(z)
        d_loss = F.relu(1.0 - self.d(self._augment(real))).mean() \
            + F.relu(1.0 + self.d(self._augment(fake.detach()))).mean()
        opt_d.zero_grad(set_to_none=True)
        torch.autograd.backward(d_loss)
        opt_d.step()
        g_loss = -self.d(self._augment(fake)).mean()
        half = real.shape[0] // 2
        if self.config.architecture == "collage" and half:
            seek = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
            g_loss = g_loss - MODE_SEEKING_WEIGHT * seek
        opt_g.zero_grad(set_to_none=True)
        torch.autograd.backward(g_loss)
        opt_g.step()
        assert self.bundle.ema is not None
        update_ema(self.bundle.ema, self.bundle.generator, self.step)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def _vae_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        recon_x, mu, logvar = self.vae(real)
        # Per-image sums (Gaussian likelihood up to a constant), averaged over the batch.
        recon = F.mse_loss(recon_x, real, reduction="sum") / real.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / real.shape[0]
        loss = recon + kl
        opt = self.optimisers["vae"]
        opt.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        opt.step()
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    def checkpoint_bytes(self) -> bytes:
        rng = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
               "data": self.data_rng.get_state(), "aug": self.aug_rng.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        blob = {
            "format": CHECKPOINT_FORMAT, "step": self.step, "architecture": self.config.architecture,
            "image_size": self.config.image_size, "width": self.config.width, "recipe": self.bundle.recipe,
            "discriminator": discriminator_kind(self.config),
            "generator_padding": generator_padding(self.config.architecture, self.config.recipe),
            "dataset_sha256": self.dataset.sha256, "rng": rng,
            "models": {k: m.state_dict() for k, m in self.bundle.trained_modules().items()},
            "optimisers": {k: o.state_dict() for k, o in self.optimisers.items()},
        }
        buf = io.BytesIO()
        torch.save(blob, buf)
        return buf.getvalue()

    def load(self, ckpt: Checkpoint, *, weights_only: bool = False) -> None:
        """Resume exactly (weights, optimisers, step, RNGs), or with weights_only start a fine-tune."""
        if (ckpt.architecture, ckpt.image_size, ckpt.state["width"]) != (
                self.config.architecture, self.config.image_size, self.config.width):
            raise ValueError("checkpoint was made for a different architecture, image size or width")
        models = ckpt.state["models"]
        if not ckpt.same_recipe(self.config):
            if not weights_only:
                raise ValueError("checkpoint was made with a different training recipe")
            # Refining a version trained with another recipe (or another discriminator, by an
            # earlier trainer): keep its generator (its average when it has one), start the rest.
            if "generator" in models:
                self.bundle.generator.load_state_dict(models.get("ema", models["generator"]))
                if self.bundle.ema is not None:
                    self.bundle.ema.load_state_dict(models.get("ema", models["generator"]))
            return
        for name, module in self.bundle.trained_modules().items():
            module.load_state_dict(models[name])
        if weights_only:
            return
        if ckpt.dataset_sha256 != self.dataset.sha256:
            raise ValueError("checkpoint was made on a different dataset")
        for name, opt in self.optimisers.items():
            opt.load_state_dict(ckpt.state["optimisers"][name])
        rng = ckpt.state["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        self.data_rng.set_state(rng["data"])
        if "aug" in rng:
            self.aug_rng.set_state(rng["aug"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.step = ckpt.step

    @torch.no_grad()
    def sample_grid_png(self) -> bytes:
        images = generate(generator_for_export(self.bundle), self.sample_z)
        return grid_png(images, nrow=4)


def bundle_recipe(config: TrainConfig) -> str:
    """The recipe a run's ModelBundle has (a VAE's is "dcgan", the bundle's default)."""
    return config.recipe if config.architecture in GAN_ARCHITECTURES else "dcgan"


def discriminator_kind(config: TrainConfig) -> str | None:
    """The class name of a run's discriminator, recorded in its checkpoints (None for the VAE)."""
    if config.architecture not in GAN_ARCHITECTURES:
        return None
    if config.recipe != "fewshot":
        return "DCGANDiscriminator"
    return "MinibatchStdPatchDiscriminator" if config.architecture == "collage" else "PatchDiscriminator"


def style_palette(config: TrainConfig, train_images: torch.Tensor) -> torch.Tensor | None:
    """The palette outputs snap to (see TrainConfig.palette), learnt from the training works only."""
    wanted = config.palette if config.palette is not None else config.recipe == "fewshot"
    if not wanted or config.architecture not in GAN_ARCHITECTURES:
        return None
    return learn_palette(train_images)


def train(
    config: TrainConfig,
    images: Sequence[bytes],
    *,
    resume: Checkpoint | bytes | None = None,
    init_from: Checkpoint | bytes | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[bytes], None] | None = None,
    checkpoint_every: int = 0,
    progress_every: int = 10,
    sample_every: int = 0,
    on_sample: Callable[[bytes], None] | None = None,
    compute_metrics: bool = True,
    weights: Sequence[float] | None = None,
    liked: Sequence[int] | None = None,
) -> TrainResult:
    """Train from scratch, resume a checkpoint (`resume`), or fine-tune from weights (`init_from`).

    Callbacks run in this process between steps; keep them quick (hand bytes to a queue).
    `compute_metrics=False` skips the final SWD evaluation (about a second or two on 2 cores).
    `weights` (one per image) makes some images drawn more often; `liked` (indices of images others
    liked) adds the SWD to that set of the starting and of the trained generator to the metrics.
    """
    configure_threads(config)
    session = TrainingSession(config, ImageDataset(images, config.image_size, config.augment, weights),
                              _device(config))
    if resume is not None:
        session.load(Checkpoint.from_bytes(resume) if isinstance(resume, bytes) else resume)
    elif init_from is not None:
        session.load(Checkpoint.from_bytes(init_from) if isinstance(init_from, bytes) else init_from,
                     weights_only=True)
    liked_set = session.all_images[list(liked)] if liked and compute_metrics else None
    liked_before: float | None = None
    if liked_set is not None and resume is None:
        liked_before = liked_swd(session, liked_set)
    elif liked_set is not None and init_from is not None:
        # A resumed refine measures "before" on the weights it started from, not on its checkpoint.
        start = TrainingSession(config, ImageDataset(images, config.image_size, config.augment), _device(config))
        start.load(Checkpoint.from_bytes(init_from) if isinstance(init_from, bytes) else init_from, weights_only=True)
        liked_before = liked_swd(start, liked_set)
    start_step, started = session.step, time.perf_counter()
    window_start, window_step = started, session.step
    sums: dict[str, torch.Tensor] = {}
    while session.step < config.steps:
        if should_stop is not None and should_stop():
            return TrainResult("canceled", session.step, session.dataset.sha256,
                               generator_state_bytes(session.bundle), session.checkpoint_bytes())
        for name, value in session.train_step().items():
            sums[name] = sums[name] + value if name in sums else value
        step = session.step
        if on_progress is not None and (step % max(progress_every, 1) == 0 or step == config.steps):
            now = time.perf_counter()
            rate = (step - start_step) / max(now - started, 1e-9)
            window = step - window_step
            on_progress(Progress(
                step=step, total_steps=config.steps,
                losses={k: float(v) / window for k, v in sums.items()},  # the only host sync
                eta_s=(config.steps - step) / rate if rate > 0 else 0.0,
                samples_per_s=window * config.batch_size / max(now - window_start, 1e-9),
            ))
            sums, window_start, window_step = {}, now, step
        if on_sample is not None and sample_every and step % sample_every == 0:
            on_sample(session.sample_grid_png())
        if on_checkpoint is not None and checkpoint_every and step % checkpoint_every == 0 and step < config.steps:
            on_checkpoint(session.checkpoint_bytes())
    result = TrainResult("succeeded", session.step, session.dataset.sha256, generator_state_bytes(session.bundle),
                         session.checkpoint_bytes(), sample_png=session.sample_grid_png())
    if compute_metrics:
        result.metrics = evaluate(session)
        if liked_set is not None and liked_before is not None:
            result.metrics.update({"liked_works": len(liked_set), "swd_liked_before": liked_before,
                                   "swd_liked": liked_swd(session, liked_set)})
        result.directions = latent_directions(base_generator(session.bundle))
        result.originality = quality.originality_reference(session.all_images)
    return result
