"""Style-aware decoding: a flat style's palette is learnt, outputs snap to it in torch and in ONNX."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from demo.art import PALETTES
from services.trainer.dataset import ImageDataset
from services.trainer.export import ExportError, export_generator_state, export_onnx, verify_onnx
from services.trainer.models import build, generator_for_export, generator_state_bytes, load_generator
from services.trainer.palette import PaletteDecoder, learn_palette, snap
from services.trainer.training import TrainConfig, TrainingSession
from tests.unit.trainer.conftest import style_images


def _works(style: str, n: int = 12) -> torch.Tensor:
    return ImageDataset(style_images(style, n, 64), 64, augment=False).tensors


def _as_rgb(palette: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in c) for c in ((palette + 1) * 127.5).round().int().tolist()}


@pytest.mark.parametrize("style", ["geometric", "dots"])
def test_a_flat_style_gets_its_own_colours_as_palette(style: str) -> None:
    palette = learn_palette(_works(style))
    assert palette is not None
    learnt = _as_rgb(palette)
    # every colour the artist used is found, within the per-work jitter of the generator (<= 18/255)
    for colour in PALETTES[style]:
        assert min(max(abs(a - b) for a, b in zip(colour, c, strict=True)) for c in learnt) <= 18, (colour, learnt)
    assert len(learnt) <= len(PALETTES[style]) + 1
    assert torch.equal(palette, learn_palette(_works(style)))  # deterministic


def test_gradients_and_noise_are_not_flat_styles() -> None:
    assert learn_palette(_works("blobs")) is None
    assert learn_palette(torch.rand(8, 3, 32, 32) * 2 - 1) is None


def test_snap_gives_only_palette_colours_and_keeps_pixels_already_on_it() -> None:
    palette = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [1.0, -1.0, -1.0]])
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    out = snap(x, palette)
    assert out.shape == x.shape
    colours = out.permute(0, 2, 3, 1).reshape(-1, 3)
    assert ((colours[:, None] == palette[None]).all(-1)).any(-1).all()
    exact = palette[torch.randint(3, (2, 8, 8))].permute(0, 3, 1, 2)
    assert torch.equal(snap(exact + 0.01, palette), exact)


def test_the_exported_graph_snaps_inside_onnx_and_matches_torch() -> None:
    torch.manual_seed(4)
    bundle = build("dcgan", 32, width=8, recipe="fewshot")
    bundle.palette = learn_palette(_works("geometric"))
    assert bundle.palette is not None
    data = export_generator_state(generator_state_bytes(bundle))
    ops = {n.op_type for n in onnx.load_from_string(data).graph.node}
    assert {"ArgMin", "Gather"} <= ops
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    z = np.random.default_rng(1).standard_normal((6, 128)).astype(np.float32)
    (image,) = session.run(["image"], {"z": z})
    assert image.shape == (6, 3, 32, 32)
    pixels = image.transpose(0, 2, 3, 1).reshape(-1, 3)
    assert np.isclose(pixels[:, None], bundle.palette.numpy()[None], atol=1e-6).all(-1).any(-1).all()
    with torch.no_grad():
        want = generator_for_export(bundle).eval()(torch.from_numpy(z)).numpy()
    assert (np.abs(image - want).max(axis=1) < 1e-4).mean() >= 0.999


def test_a_graph_with_another_palette_fails_verification() -> None:
    torch.manual_seed(5)
    g = build("dcgan", 32, width=8).generator
    palette = learn_palette(_works("geometric"))
    assert palette is not None
    data = export_onnx(PaletteDecoder(g, palette))
    with pytest.raises(ExportError):
        verify_onnx(PaletteDecoder(g, palette.flip(0).roll(1, 1)), data)


def test_the_palette_travels_with_the_generator_weights() -> None:
    torch.manual_seed(6)
    bundle = build("dcgan", 32, width=8, recipe="fewshot")
    plain = load_generator(generator_state_bytes(bundle))
    assert not isinstance(plain, PaletteDecoder)
    bundle.palette = torch.tensor([[0.5, 0.5, 0.5], [-0.5, 0.0, 0.5]])
    loaded = load_generator(generator_state_bytes(bundle))
    assert isinstance(loaded, PaletteDecoder) and torch.equal(loaded.palette, bundle.palette)


def test_fewshot_sessions_learn_the_palette_of_flat_styles_only(geometric_images) -> None:
    def session(images: list[bytes], **kw) -> TrainingSession:
        config = TrainConfig(architecture="dcgan", image_size=32, steps=1, batch_size=4, width=8, **kw)
        return TrainingSession(config, ImageDataset(images, 32, None), torch.device("cpu"))

    assert session(geometric_images).bundle.palette is not None
    assert session(geometric_images, palette=False).bundle.palette is None
    assert session(geometric_images, recipe="dcgan").bundle.palette is None  # the previous recipe as it was
    assert session(style_images("blobs", 12, 32)).bundle.palette is None
