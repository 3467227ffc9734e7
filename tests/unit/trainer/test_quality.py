"""Training must measurably learn the style: SWD to the training images falls well below the
untrained model's. Small models and few steps keep this within seconds on 2 cores."""

import pytest

from services.trainer.training import TrainConfig, train


@pytest.mark.slow
def test_tiny_dcgan_learns_the_geometric_style(geometric_images) -> None:
    config = TrainConfig(architecture="dcgan", image_size=32, steps=500, batch_size=32, width=16, seed=1)
    metrics = train(config, geometric_images).metrics
    assert metrics["swd"] < 0.6 * metrics["swd_untrained"], metrics


@pytest.mark.slow
def test_tiny_vae_reconstructs_and_samples_better_than_untrained(geometric_images) -> None:
    config = TrainConfig(architecture="vae", image_size=32, steps=150, batch_size=32, width=16, seed=1,
                         holdout=False)
    metrics = train(config, geometric_images).metrics
    assert metrics["recon_error"] < 0.3 * metrics["recon_error_untrained"], metrics
    assert metrics["swd"] < 0.85 * metrics["swd_untrained"], metrics
