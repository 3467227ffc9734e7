"""The palette inference measures for assets: dominant colours from the pixels, most common first."""

from __future__ import annotations

import numpy as np

from services.inference.palette import dominant_colours


def test_the_most_common_colour_comes_first_and_near_shades_merge() -> None:
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:40] = (200, 30, 30)  # red, most of the image
    pixels[40:52] = (20, 20, 220)  # blue
    pixels[52:] = (30, 200, 30)  # green
    pixels[::7, ::5] = (205, 35, 33)  # a near shade of red: counts as red
    colours = dominant_colours(pixels)
    assert len(colours) == 5 and colours[0] in ("#c81e1e", "#c81f1e", "#c91f1e", "#c81e1f")
    assert set(colours[1:3]) == {"#1414dc", "#1ec81e"}
    assert colours[3:] == [colours[0]] * 2  # fewer colours than five: the first repeats


def test_a_single_colour_image_is_that_colour_five_times() -> None:
    assert dominant_colours(np.full((32, 32, 3), 17, np.uint8)) == ["#111111"] * 5


def test_large_images_are_sampled_not_counted_whole() -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    colours = dominant_colours(pixels)
    assert len(colours) == 5 and all(c.startswith("#") and len(c) == 7 for c in colours)
