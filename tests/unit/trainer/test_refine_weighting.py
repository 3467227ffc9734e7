"""Refine learns from the owner's ratings and the audience's likes: weights per image, and the SWD
to the liked set before and after."""

import pytest
import torch

from demo.art import png_bytes, render
from services.trainer.dataset import DatasetError, ImageDataset
from services.trainer.dataset_fetch import MAX_WEIGHT, refine_weight
from services.trainer.training import TrainConfig, train


@pytest.mark.parametrize(("score", "likes", "weight"), [
    (4, 0, 1), (5, 0, 2),  # the owner's bar is 4: a 5 counts more than a 4
    (None, 1, 1), (None, 3, 2), (None, 7, 3),  # likes on a log scale
    (5, 3, 4), (5, 1000, MAX_WEIGHT),  # both add up, capped
    (3, 0, 1),  # under the bar (inference does not send it; if it did it counts like a work)
])
def test_refine_weight_adds_rating_and_likes(score: int | None, likes: int, weight: int) -> None:
    assert refine_weight(score, likes, min_score=4) == weight


def test_a_heavier_image_is_drawn_more_often() -> None:
    images = [png_bytes(render("blobs", seed, 32)) for seed in range(4)]
    dataset = ImageDataset(images, 32, augment=False, weights=[1, 1, 1, 4])
    draws = dataset.batch(7000, torch.Generator().manual_seed(0))
    heavy = (draws == dataset.tensors[3]).flatten(1).all(1).float().mean().item()
    assert 0.52 < heavy < 0.62  # 4 of 7


def test_equal_weights_sample_like_no_weights_and_bad_weights_are_refused() -> None:
    images = [png_bytes(render("blobs", seed, 32)) for seed in range(3)]
    plain, even = ImageDataset(images, 32, augment=False), ImageDataset(images, 32, augment=False, weights=[2, 2, 2])
    draw = lambda d: d.batch(16, torch.Generator().manual_seed(1))  # noqa: E731
    assert torch.equal(draw(plain), draw(even))
    with pytest.raises(DatasetError):
        ImageDataset(images, 32, weights=[1, 1])
    with pytest.raises(DatasetError):
        ImageDataset(images, 32, weights=[1, 0, 1])


def test_a_refine_towards_liked_outputs_reports_swd_to_them_before_and_after() -> None:
    works = [png_bytes(render("blobs", seed, 32)) for seed in range(6)]
    liked = [png_bytes(render("stripes", seed, 32)) for seed in range(2)]  # what the audience liked
    config = TrainConfig(architecture="vae", image_size=32, steps=60, batch_size=16, width=16, seed=3,
                         eval_samples=32, eval_descriptors=512)
    base = train(config, works, compute_metrics=False)
    refined = train(config.model_copy(update={"steps": 80}), works + liked, init_from=base.checkpoint,
                    weights=[1] * 6 + [MAX_WEIGHT] * 2, liked=[6, 7])
    metrics = refined.metrics
    assert metrics["liked_works"] == 2
    assert metrics["swd_liked"] < metrics["swd_liked_before"], metrics  # moved towards the liked set
    plain = train(config.model_copy(update={"steps": 80}), works + liked, init_from=base.checkpoint)
    assert "swd_liked" not in plain.metrics  # nothing liked: nothing to report
