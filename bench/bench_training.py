"""Training throughput and quality, each against a baseline measured in the same run.

- loop overhead: samples/s of `training.train()` with its progress, sample-grid and checkpoint
  callbacks at realistic intervals vs a minimal plain-PyTorch loop of the same DCGAN, batch and
  thread count (ratio, target >= 0.95). Both run alternately REPEATS times; the best of each counts,
  which filters out other processes competing for the cores.
- quality: SWD of a DCGAN after a fixed step budget on 16 "geometric" images vs the same model
  untrained (ratio, target <= 0.5); and the VAE's reconstruction error trained vs untrained.

    python -m bench.bench_training [STEPS]
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from bench.common import report, verdict
from demo.art import png_bytes, render
from services.trainer.dataset import ImageDataset
from services.trainer.models import LATENT_DIM, build
from services.trainer.training import Progress, TrainConfig, configure_threads, train

REPEATS = 3
WARMUP_STEPS = 20
PROGRESS_EVERY, SAMPLE_EVERY, CHECKPOINT_EVERY = 10, 50, 100
QUALITY_STEPS = 800


def images(style: str, n: int) -> list[bytes]:
    return [png_bytes(render(style, seed, 64)) for seed in range(n)]


def service_loop_rate(config: TrainConfig, data: list[bytes]) -> float:
    """Samples/s of train() between its first and last progress report (setup and warm-up excluded)."""
    stamps: list[tuple[int, float]] = []
    sink: list[int] = []

    def on_progress(p: Progress) -> None:
        stamps.append((p.step, time.perf_counter()))

    train(config, data, on_progress=on_progress, progress_every=PROGRESS_EVERY, sample_every=SAMPLE_EVERY,
          on_sample=lambda png: sink.append(len(png)), checkpoint_every=CHECKPOINT_EVERY,
          on_checkpoint=lambda blob: sink.append(len(blob)), should_stop=lambda: False, compute_metrics=False)
    (s0, t0), (s1, t1) = next(s for s in stamps if s[0] >= WARMUP_STEPS), stamps[-1]
    return (s1 - s0) * config.batch_size / (t1 - t0)


def plain_loop_rate(config: TrainConfig, data: list[bytes]) -> float:
    """The same model and batch in the shortest loop PyTorch allows: no callbacks, no bookkeeping."""
    configure_threads(config)
    real_all = ImageDataset(data, config.image_size, augment=False).tensors
    torch.manual_seed(config.seed)
    bundle = build("dcgan", config.image_size, config.width)
    g, d = bundle.generator, bundle.discriminator
    assert d is not None
    opt_g = torch.optim.Adam(g.parameters(), config.learning_rate, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), config.learning_rate, betas=(0.5, 0.999))
    for step in range(config.steps):
        if step == WARMUP_STEPS:
            started = time.perf_counter()
        real = real_all[torch.randint(len(real_all), (config.batch_size,))]
        fake = g(torch.randn(config.batch_size, LATENT_DIM))
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    return (config.steps - WARMUP_STEPS) * config.batch_size / (time.perf_counter() - started)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 140
    # 64 images: augmentation is off by default, as in the plain loop; width 64 = the service default.
    data = images("geometric", 64)
    config = TrainConfig(architecture="dcgan", image_size=32, steps=steps, batch_size=32, seed=0)
    configure_threads(config)
    report("threads", str(torch.get_num_threads()))
    service, plain = [], []
    for _ in range(REPEATS):
        plain.append(plain_loop_rate(config, data))
        service.append(service_loop_rate(config, data))
    report("train_samples_per_s", max(service))
    report("plain_loop_samples_per_s", max(plain))
    verdict("train_vs_plain_throughput_ratio", max(service) / max(plain), at_least=0.95)

    small = images("geometric", 16)
    started = time.perf_counter()
    gan = train(TrainConfig(architecture="dcgan", image_size=32, steps=QUALITY_STEPS, batch_size=32,
                            width=16, seed=1), small).metrics
    report("dcgan_quality_run_s", time.perf_counter() - started)
    report("dcgan_swd", gan["swd"])
    report("dcgan_swd_untrained", gan["swd_untrained"])
    verdict("dcgan_swd_vs_untrained_ratio", gan["swd"] / gan["swd_untrained"], at_most=0.5)

    vae = train(TrainConfig(architecture="vae", image_size=32, steps=300, batch_size=32, width=16, seed=1),
                small).metrics
    report("vae_swd", vae["swd"])
    report("vae_swd_untrained", vae["swd_untrained"])
    report("vae_recon_error", vae["recon_error"])
    report("vae_recon_error_untrained", vae["recon_error_untrained"])
    verdict("vae_recon_error_vs_untrained_ratio", vae["recon_error"] / vae["recon_error_untrained"], at_most=0.5)


if __name__ == "__main__":
    main()
