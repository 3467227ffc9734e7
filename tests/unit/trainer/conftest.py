"""Training data made by the project's own procedural art generator (nothing is downloaded)."""

import pytest

from demo.art import png_bytes, render


def style_images(style: str, count: int, size: int = 64, first_seed: int = 0) -> list[bytes]:
    return [png_bytes(render(style, seed, size)) for seed in range(first_seed, first_seed + count)]


@pytest.fixture(scope="session")
def geometric_images() -> list[bytes]:
    return style_images("geometric", 16)
