"""What a training run is judged by, and the images it shows: samples from the exported generator
(`generate`, `grid_png`), the untrained baseline rebuilt from the seed (`seeded_bundle`), and the
metrics a version records (`evaluate`: SWD trained and untrained, held-out SWD, precision/recall,
memorisation, VAE reconstruction; `liked_swd` for refine runs). Pure CPU/GPU work like training.py.
"""

from __future__ import annotations

import io
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from services.trainer import quality
from services.trainer.config import TrainConfig
from services.trainer.dataset import ImageDataset
from services.trainer.models import LATENT_DIM, ModelBundle, build, generator_for_export
from services.trainer.swd import swd


class TrainingSession(Protocol):
    """What evaluation reads of a training session (training.TrainingSession)."""

    @property
    def config(self) -> TrainConfig: ...
    @property
    def dataset(self) -> ImageDataset: ...
    @property
    def device(self) -> torch.device: ...
    @property
    def bundle(self) -> ModelBundle: ...
    @property
    def heldout(self) -> torch.Tensor | None: ...


def seeded_bundle(config: TrainConfig, device: torch.device) -> ModelBundle:
    """Initial weights depend only on the seed: the untrained baseline rebuilds them."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        bundle = build(config.architecture, config.image_size, config.width, config.recipe)
    for m in bundle.trained_modules().values():
        m.to(device)
    return bundle


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """Images in eval mode (BatchNorm running stats, as exported), on the CPU."""
    was_training = generator.training
    generator.eval()
    try:
        return torch.cat([generator(z[i:i + chunk]).float().cpu() for i in range(0, len(z), chunk)])
    finally:
        generator.train(was_training)


def grid_png(images: torch.Tensor, nrow: int, pad: int = 2) -> bytes:
    """[N, 3, S, S] in [-1, 1] -> one PNG with the images on a white grid."""
    n, _, s, _ = images.shape
    rows = -(-n // nrow)
    canvas = np.full((rows * (s + pad) + pad, nrow * (s + pad) + pad, 3), 255, np.uint8)
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i, img in enumerate(pixels):
        r, c = divmod(i, nrow)
        canvas[pad + r * (s + pad): pad + r * (s + pad) + s, pad + c * (s + pad): pad + c * (s + pad) + s] = img
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


@torch.no_grad()
def evaluate(session: TrainingSession) -> dict[str, Any]:
    """Quality of the exported generator next to its untrained initial state.

    SWD against the training works (and the held-out works when there are any), k-NN precision
    and recall (quality.py), memorisation (distance of each sample to its nearest training work),
    and for the VAE the reconstruction error.
    """
    config, real = session.config, session.dataset.tensors
    z = torch.randn(config.eval_samples, LATENT_DIM,
                    generator=torch.Generator().manual_seed(config.seed * 1000 + 4)).to(session.device)
    untrained = seeded_bundle(config, session.device)
    untrained.palette = session.bundle.palette  # the same decoding: only the weights differ
    fake = generate(generator_for_export(session.bundle), z)
    fake0 = generate(generator_for_export(untrained), z)
    trained_swd = swd(real, fake, seed=config.seed, descriptors_per_level=config.eval_descriptors)
    untrained_swd = swd(real, fake0, seed=config.seed, descriptors_per_level=config.eval_descriptors)
    metrics: dict[str, Any] = {
        "swd": trained_swd["avg"], "swd_per_level": trained_swd["per_level"],
        "swd_untrained": untrained_swd["avg"], "swd_untrained_per_level": untrained_swd["per_level"],
        "swd_resolutions": trained_swd["resolutions"], "eval_samples": config.eval_samples,
        "recipe": session.bundle.recipe if session.bundle.vae is None else "vae",
        "palette_colours": 0 if session.bundle.palette is None else len(session.bundle.palette),
        "train_works": len(real), "heldout_works": 0,
    }
    metrics.update(sample_quality(real, session.heldout, fake, fake0, seed=config.seed,
                                  descriptors_per_level=config.eval_descriptors))
    if session.bundle.vae is not None and untrained.vae is not None:
        metrics["recon_error"] = reconstruction_error(session.bundle.vae, real, session.device)
        metrics["recon_error_untrained"] = reconstruction_error(untrained.vae, real, session.device)
    return metrics


@torch.no_grad()
def liked_swd(session: TrainingSession, liked: torch.Tensor) -> float:
    """SWD between what the generator makes now and the outputs others liked (lower: closer)."""
    config = session.config
    z = torch.randn(config.eval_samples, LATENT_DIM,
                    generator=torch.Generator().manual_seed(config.seed * 1000 + 6)).to(session.device)
    fake = generate(generator_for_export(session.bundle), z)
    return float(swd(liked, fake, seed=config.seed, descriptors_per_level=config.eval_descriptors)["avg"])


def sample_quality(train_images: torch.Tensor, heldout: torch.Tensor | None, fake: torch.Tensor,
                   fake_untrained: torch.Tensor, seed: int = 0,
                   descriptors_per_level: int = 8192) -> dict[str, Any]:
    """Held-out SWD (trained and untrained), precision/recall and memorisation of generated samples."""
    out: dict[str, Any] = {}
    if heldout is not None and len(heldout):
        out["heldout_works"] = len(heldout)
        out["swd_heldout"] = swd(heldout, fake, seed=seed, descriptors_per_level=descriptors_per_level)["avg"]
        out["swd_heldout_untrained"] = swd(heldout, fake_untrained, seed=seed,
                                           descriptors_per_level=descriptors_per_level)["avg"]
    real_f, fake_f = quality.features(train_images), quality.features(fake)
    out.update(quality.precision_recall(real_f, fake_f))
    if heldout is not None and len(heldout):
        out["recall_heldout"] = quality.coverage_of(quality.features(heldout), fake_f)
    reference = quality.originality_reference(train_images)
    out.update({f"memorisation_{k}": v for k, v in quality.memorisation(fake, reference).items()})
    return out


@torch.no_grad()
def reconstruction_error(vae: nn.Module, images: torch.Tensor, device: torch.device) -> float:
    """Mean squared error (pixels in [-1, 1]) of encoding to the posterior mean and decoding."""
    vae.eval()
    total = 0.0
    for i in range(0, len(images), 64):
        x = images[i:i + 64].to(device)
        total += F.mse_loss(vae(x)[0], x, reduction="sum").item()
    vae.train()
    return total / images.numel()
