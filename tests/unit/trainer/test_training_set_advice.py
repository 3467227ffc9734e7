"""The statistics of the training-set advice on procedural images whose truth is known: a planted
outlier is named, a coherent set names none, a near copy pair is named (and nothing else is)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from demo.art import STYLES, png_bytes, render
from services.trainer.advice_features import FeatureError, image_features, srgb_to_lab
from services.trainer.advice_stats import MIN_SET, analyse


def _features(images: list[Image.Image]) -> list:  # type: ignore[type-arg]
    return [image_features(png_bytes(img)) for img in images]


def _jpeg(img: Image.Image, quality: int = 80) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.mark.parametrize(("style", "other"), [("dots", "geometric"), ("waves", "blobs"), ("stripes", "dots"),
                                              ("waves", "stripes")])
def test_a_planted_outlier_is_named_and_only_it(style: str, other: str) -> None:
    images = [render(style, seed, 64) for seed in range(6)]
    images.insert(3, render(other, 11, 64))
    findings, summary = analyse(_features(images))
    outliers = [f for f in findings if f.kind == "outlier"]
    assert [f.members for f in outliers] == [(3,)]
    ev = outliers[0].evidence
    assert ev["distance"] > ev["threshold"] >= 1.5 * ev["set_median_distance"] - 1e-3  # figures are rounded
    assert ev["robust_z"] > 3.5 and 0.5 < outliers[0].confidence <= 1
    assert [f for f in findings if f.kind == "near_duplicate"] == []
    assert summary["images"] == 7


@pytest.mark.parametrize("style", STYLES)
def test_a_coherent_set_names_nothing(style: str) -> None:
    findings, _ = analyse(_features([render(style, seed, 64) for seed in range(10)]))
    assert findings == []


def test_near_copies_are_paired_and_are_not_outliers() -> None:
    images = [render("waves", seed, 64) for seed in range(6)]
    images.append(ImageEnhance.Brightness(images[1]).enhance(1.05))  # slightly brighter copy
    images.append(_jpeg(images[4].resize((96, 96), Image.Resampling.BICUBIC)))  # re-encoded, other size
    findings, _ = analyse(_features(images))
    pairs = {f.members: f for f in findings if f.kind == "near_duplicate"}
    assert set(pairs) == {(1, 6), (4, 7)}
    assert all(f.evidence["phash_distance_bits"] <= f.evidence["phash_threshold_bits"] for f in pairs.values())
    assert all(0.5 <= f.confidence <= 1 for f in pairs.values())
    assert [f for f in findings if f.kind == "outlier"] == []


def test_an_exact_copy_is_fully_confident() -> None:
    images = [render("dots", seed, 64) for seed in range(4)]
    findings, _ = analyse(_features([*images, images[2]]))
    assert [(f.kind, f.members, f.confidence) for f in findings] == [("near_duplicate", (2, 4), 1.0)]
    assert findings[0].evidence["phash_distance_bits"] == 0


def test_too_small_a_set_has_no_outlier_advice() -> None:
    images = [render("dots", 0, 64), render("dots", 1, 64), render("geometric", 2, 64)]
    assert len(images) < MIN_SET
    assert analyse(_features(images))[0] == []
    assert analyse([]) == ([], {"images": 0.0})


def test_flat_images_pair_by_features_when_no_phash_exists() -> None:
    flat = [Image.new("RGB", (64, 64), c) for c in ((200, 30, 30), (201, 30, 30), (20, 40, 200))]
    features = _features(flat)
    assert all(f.phash is None for f in features)
    findings, _ = analyse(features)
    assert [(f.kind, f.members) for f in findings] == [("near_duplicate", (0, 1))]


def test_features_follow_the_training_crop_and_lab() -> None:
    wide = Image.new("RGB", (300, 100), (255, 255, 255))
    wide.paste((0, 0, 0), (100, 0, 200, 100))  # the centre square is black, the sides white
    assert np.allclose(image_features(png_bytes(wide)).vector, image_features(png_bytes(
        Image.new("RGB", (64, 64), (0, 0, 0)))).vector, atol=1e-3)
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], dtype=np.uint8))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.05) and np.allclose(lab[1], [0, 0, 0], atol=0.05)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)
    with pytest.raises(FeatureError):
        image_features(b"not an image")


def _set_with_planted_findings() -> list[Image.Image]:
    images = [render("dots", seed, 64) for seed in range(5)] + [render("geometric", 11, 64)]
    return [*images, ImageEnhance.Brightness(images[1]).enhance(1.05)]


def test_works_outside_the_set_that_widen_it_are_coverage_and_strays_or_lookalikes_are_not() -> None:
    candidates = [render("waves", 20, 64), render("dots", 30, 64), render("waves", 21, 64), render("blobs", 5, 64),
                  render("waves", 22, 64)]
    findings, _ = analyse(_features(_set_with_planted_findings()), _features(candidates))
    assert [(f.kind, f.members) for f in findings if f.kind != "coverage"] == [("outlier", (5,)),
                                                                                 ("near_duplicate", (1, 6))]
    cover = [f for f in findings if f.kind == "coverage"]
    assert {f.members[0] for f in cover} == {0, 2, 4}  # the waves: a second style of the artist, left out
    assert [f.score for f in cover] == sorted((f.score for f in cover), reverse=True)
    for f in cover:
        ev = f.evidence
        assert ev["ratio"] >= 2.0 and ev["nearest_set_distance"] == pytest.approx(
            ev["ratio"] * ev["set_typical_nearest"], rel=0.01)
        assert ev["robust_z_among_your_works"] < 3.5 and 0.5 < f.confidence <= 1


def test_a_lone_stray_or_more_of_the_same_adds_no_coverage() -> None:
    base = _features(_set_with_planted_findings())
    assert [f for f in analyse(base, _features([render("blobs", 5, 64)]))[0] if f.kind == "coverage"] == []
    same = _features([render("dots", seed, 64) for seed in range(30, 34)])
    assert [f for f in analyse(base, same)[0] if f.kind == "coverage"] == []
