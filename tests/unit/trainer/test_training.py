import io

import pytest
import torch
from PIL import Image

from services.trainer.models import load_generator
from services.trainer.training import Checkpoint, Progress, TrainConfig, train


def tiny(architecture: str = "dcgan", steps: int = 12, **kw) -> TrainConfig:
    return TrainConfig(architecture=architecture, image_size=32, steps=steps, batch_size=8, width=8,
                       seed=7, **kw)


def _same_weights(a: bytes, b: bytes) -> bool:
    sa = Checkpoint.from_bytes(a).state["models"]
    sb = Checkpoint.from_bytes(b).state["models"]
    return all(torch.equal(sa[m][k], sb[m][k]) for m in sa for k in sa[m])


@pytest.mark.parametrize("architecture", ["dcgan", "collage", "vae"])
def test_same_seed_same_weights_other_seed_other_weights(architecture: str, geometric_images) -> None:
    a = train(tiny(architecture), geometric_images, compute_metrics=False)
    b = train(tiny(architecture), geometric_images, compute_metrics=False)
    c = train(tiny(architecture).model_copy(update={"seed": 8}), geometric_images, compute_metrics=False)
    assert _same_weights(a.checkpoint, b.checkpoint)
    assert not _same_weights(a.checkpoint, c.checkpoint)


@pytest.mark.parametrize("architecture", ["dcgan", "collage", "vae"])
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(architecture: str, geometric_images) -> None:
    config = tiny(architecture, augment=True)  # augmentation draws from the data RNG too
    straight = train(config, geometric_images, compute_metrics=False)

    saved: list[bytes] = []
    first = train(config, geometric_images, on_checkpoint=saved.append, checkpoint_every=5,
                  should_stop=lambda: len(saved) >= 1, compute_metrics=False)
    assert first.status == "canceled" and first.steps_done == 5
    assert Checkpoint.from_bytes(saved[0]).step == 5

    resumed = train(config, geometric_images, resume=saved[0], compute_metrics=False)
    assert resumed.status == "succeeded" and resumed.steps_done == config.steps
    assert _same_weights(resumed.checkpoint, straight.checkpoint)
    z = torch.randn(4, 128)
    assert torch.equal(load_generator(resumed.generator_state)(z), load_generator(straight.generator_state)(z))


def test_resume_refuses_another_dataset_or_architecture(geometric_images) -> None:
    done = train(tiny(steps=2), geometric_images, compute_metrics=False)
    with pytest.raises(ValueError, match="dataset"):
        train(tiny(steps=4), geometric_images[:8], resume=done.checkpoint, compute_metrics=False)
    with pytest.raises(ValueError, match="architecture"):
        train(tiny("vae", steps=4), geometric_images, resume=done.checkpoint, compute_metrics=False)
    # Fine-tuning on other images starts from the weights but counts steps afresh.
    refined = train(tiny(steps=3), geometric_images[:8], init_from=done.checkpoint, compute_metrics=False)
    assert refined.steps_done == 3


def test_cancel_stops_at_the_next_step(geometric_images) -> None:
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    result = train(tiny(steps=1000), geometric_images, should_stop=should_stop)
    assert result.status == "canceled" and result.steps_done == 3 and result.metrics == {}


def test_progress_and_sample_grids_are_reported(geometric_images) -> None:
    progress: list[Progress] = []
    samples: list[bytes] = []
    result = train(tiny("vae", steps=10), geometric_images, on_progress=progress.append, progress_every=4,
                   sample_every=5, on_sample=samples.append, compute_metrics=False)
    assert [p.step for p in progress] == [4, 8, 10]
    assert all(p.total_steps == 10 and set(p.losses) == {"loss", "recon", "kl"} for p in progress)
    assert all(p.samples_per_s > 0 and p.eta_s >= 0 for p in progress) and progress[-1].eta_s == 0
    assert len(samples) == 2
    grid = Image.open(io.BytesIO(samples[0]))
    assert grid.format == "PNG" and grid.size == (4 * 34 + 2, 4 * 34 + 2)
    assert result.sample_png is not None


def test_gan_progress_reports_both_losses(geometric_images) -> None:
    progress: list[Progress] = []
    train(tiny(steps=4), geometric_images, on_progress=progress.append, progress_every=2,
          compute_metrics=False)
    assert set(progress[0].losses) == {"d_loss", "g_loss"}
    assert all(abs(v) < 1e6 for p in progress for v in p.losses.values())  # finite
    assert all(p.losses["d_loss"] > 0 for p in progress)  # hinge and BCE discriminator losses are positive
