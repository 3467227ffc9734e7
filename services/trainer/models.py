"""Small generative models for style training: DCGAN, collage (collage.py) and a convolutional VAE.

Two GAN recipes share the generator (so every exported model loads the same way): "dcgan", the
original (BatchNorm discriminator, one logit per image), and "fewshot", whose discriminator uses
spectral normalisation (Miyato et al. 2018) instead of BatchNorm and judges patches (one logit per
window, as in Isola et al. 2017), for hinge-loss training with DiffAugment (training.py).

Every generator maps z [N, LATENT_DIM] to an image [N, 3, S, S] in [-1, 1] (tanh), for S in
IMAGE_SIZES. Depth follows the size: one up/down block per doubling between 4 px and S. The
"collage" architecture trains like "dcgan" (same recipes, same discriminators); only its generator
differs: it draws flat-coloured shapes instead of upsampling feature maps (collage.py).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from services.trainer.collage import CollageGenerator
from services.trainer.palette import PaletteDecoder

LATENT_DIM = 128
IMAGE_SIZES = (32, 64, 128)
ARCHITECTURES = ("dcgan", "collage", "vae")
GAN_ARCHITECTURES = ("dcgan", "collage")  # trained adversarially, with a recipe (RECIPES)
RECIPES = ("fewshot", "dcgan")  # GAN training recipes; the first is the default
Padding = Literal["zeros", "reflect"]
DEFAULT_WIDTH = 64  # channels of the last (largest) feature map; deeper layers double it


def _blocks(image_size: int) -> int:
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size}")
    return {32: 3, 64: 4, 128: 5}[image_size]


def _channels(image_size: int, width: int) -> list[int]:
    """Channel counts from the 4x4 map up to the full-size map, capped to keep 128 px affordable."""
    n = _blocks(image_size)
    return [min(width * 2 ** (n - 1 - i), width * 8) for i in range(n)]


def _up_block(c_in: int, c_out: int, padding_mode: Padding) -> list[nn.Module]:
    # Nearest upsampling + 3x3 conv rather than a strided transposed conv: no checkerboard
    # artefacts, and on tiny datasets it reached a given SWD in about half the steps.
    return [nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False, padding_mode=padding_mode),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class DCGANGenerator(nn.Module):
    """z -> 4x4 map (linear) -> upsample+conv blocks -> 3 channels, tanh.

    `padding_mode` "reflect" (the fewshot recipe's) pads feature maps with their own edge instead
    of zeros: zero padding tells every layer where the border is, and with a patch discriminator
    the generator painted speckled frames along the edges; reflected borders have none.
    """

    def __init__(self, image_size: int = 32, width: int = DEFAULT_WIDTH, latent_dim: int = LATENT_DIM,
                 padding_mode: Padding = "zeros"):
        super().__init__()
        ch = _channels(image_size, width)
        self.image_size, self.latent_dim, self.padding_mode = image_size, latent_dim, padding_mode
        self.project = nn.Sequential(
            nn.Linear(latent_dim, ch[0] * 16, bias=False), nn.Unflatten(1, (ch[0], 4, 4)),
            nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(ch):
            layers += _up_block(c_in, c_out, padding_mode)
        layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(ch[-1], 3, 3, 1, 1, padding_mode=padding_mode), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(self.project(z))
        return out


def _down_blocks(image_size: int, width: int) -> tuple[list[nn.Module], list[int]]:
    """Strided 4x4 convs halving the image down to 4x4 (shared by the discriminator and the VAE
    encoder); returns the layers and the channel count of each block."""
    ch = list(reversed(_channels(image_size, width)))
    layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
    for c_in, c_out in itertools.pairwise(ch):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                   nn.LeakyReLU(0.2, inplace=True)]
    return layers, ch


class DCGANDiscriminator(nn.Module):
    """Image -> strided-conv down blocks -> one logit per image (no sigmoid: BCE-with-logits)."""

    def __init__(self, image_size: int = 32, width: int = DEFAULT_WIDTH):
        super().__init__()
        layers, ch = _down_blocks(image_size, width)
        layers += [nn.Conv2d(ch[-1], 1, 4, 1, 0), nn.Flatten()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.body(x).squeeze(1)
        return logits


class PatchDiscriminator(nn.Module):
    """Image -> spectrally normalised strided convs (no BatchNorm) down to an 8x8 map -> a 3x3 conv
    giving one logit per patch, [N, 64]: each logit judges a window of about 60 % of the image.

    Few works hold few images but many patches: judging windows rather than whole images gives the
    discriminator far more distinct examples, so it learns edges, corners and textures instead of
    memorising compositions. Measured on 16 works at 64 px (bench_training, 4 CPU-minutes): held-out
    SWD 0.109 of untrained vs 0.157 for a whole-image discriminator, with cleaner regions.
    Without BatchNorm a logit depends on its own image only, which hinge loss and DiffAugment's
    per-image transforms assume; spectral norm keeps the discriminator Lipschitz-bounded instead.

    With `minibatch_std` (the collage architecture's) the last conv also sees one more channel: the
    spread of the features across a group of up to 4 images of the batch (Karras et al. 2018), so a
    generator that paints every latent alike is told apart from the varied works.
    """

    def __init__(self, image_size: int = 32, width: int = DEFAULT_WIDTH, minibatch_std: bool = False):
        super().__init__()
        def sn(conv: nn.Conv2d) -> nn.Module:  # initialise the raw weight, then parametrise it
            _init_weights(conv)
            return nn.utils.parametrizations.spectral_norm(conv)

        ch = list(reversed(_channels(image_size, width)))[:-1]  # one block fewer: stop at 8x8
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch[0], 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in itertools.pairwise(ch):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        self.minibatch_std = minibatch_std
        head = sn(nn.Conv2d(ch[-1] + int(minibatch_std), 1, 3, 1, 1))
        if minibatch_std:
            self.trunk, self.head = nn.Sequential(*layers), head
        else:  # the module layout older checkpoints were saved with
            self.body = nn.Sequential(*layers, head, nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.minibatch_std:
            logits: torch.Tensor = self.body(x)  # [N, 64]: losses average over images and patches
            return logits
        h = self.trunk(x)
        n, c, height, width = h.shape
        group = next(g for g in (4, 3, 2, 1) if n % g == 0)
        spread = (h.view(group, -1, c, height, width).var(0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
        spread_map = spread.view(1, -1, 1, 1, 1).expand(group, -1, 1, height, width).reshape(n, 1, height, width)
        out: torch.Tensor = self.head(torch.cat([h, spread_map], 1)).flatten(1)
        return out


class ConvEncoder(nn.Module):
    def __init__(self, image_size: int, width: int, latent_dim: int):
        super().__init__()
        layers, ch = _down_blocks(image_size, width)
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.mu = nn.Linear(ch[-1] * 16, latent_dim)
        self.logvar = nn.Linear(ch[-1] * 16, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class ConvVAE(nn.Module):
    """Encoder -> (mu, logvar) of a 128-d Gaussian; the decoder (a DCGAN-shaped generator) generates."""

    def __init__(self, image_size: int = 32, width: int = DEFAULT_WIDTH, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.encoder = ConvEncoder(image_size, width, latent_dim)
        self.decoder = DCGANGenerator(image_size, width, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.decoder(z)
        return out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar


def _init_weights(module: nn.Module) -> None:
    # DCGAN paper: N(0, 0.02) for conv/linear weights, N(1, 0.02) for BatchNorm scales.
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclass
class ModelBundle:
    """Everything trained for one style model; `generator` is what gets exported."""

    architecture: str
    image_size: int
    width: int
    generator: nn.Module  # DCGANGenerator, or the VAE's decoder
    discriminator: nn.Module | None = None  # DCGANDiscriminator or PatchDiscriminator
    vae: ConvVAE | None = None
    ema: nn.Module | None = None  # moving average of `generator` (fewshot): what samples and exports use
    recipe: str = "dcgan"
    palette: torch.Tensor | None = None  # [K, 3] of a flat-colour style: outputs snap to it (palette.py)

    def trained_modules(self) -> dict[str, nn.Module]:
        """Every module whose state a checkpoint must hold (the EMA included, to resume exactly)."""
        if self.vae is not None:
            return {"vae": self.vae}
        assert self.discriminator is not None
        modules = {"generator": self.generator, "discriminator": self.discriminator}
        if self.ema is not None:
            modules["ema"] = self.ema
        return modules


def build(architecture: str, image_size: int, width: int = DEFAULT_WIDTH, recipe: str = "dcgan") -> ModelBundle:
    """Fresh, initialised models; seed torch beforehand for reproducible weights."""
    if architecture in GAN_ARCHITECTURES:
        if recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
        g: nn.Module
        if architecture == "collage":
            _blocks(image_size)  # the same sizes as every architecture
            g = CollageGenerator(image_size, width)
        else:
            g = DCGANGenerator(image_size, width, padding_mode=generator_padding(architecture, recipe))
        d: nn.Module = (PatchDiscriminator(image_size, width, minibatch_std=architecture == "collage")
                        if recipe == "fewshot" else DCGANDiscriminator(image_size, width))
        # Initialised after the discriminator is built: the order (and so every seed's weights) of
        # the DCGAN's first versions.
        if isinstance(g, CollageGenerator):
            g.reset_parameters()
        else:
            g.apply(_init_weights)
        if recipe != "fewshot":
            d.apply(_init_weights)  # PatchDiscriminator initialised its weights before parametrising
        if recipe == "fewshot":
            from services.trainer.ema import make_ema

            return ModelBundle(architecture, image_size, width, generator=g, discriminator=d, ema=make_ema(g),
                               recipe=recipe)
        return ModelBundle(architecture, image_size, width, generator=g, discriminator=d)
    if architecture == "vae":
        vae = ConvVAE(image_size, width)
        vae.apply(_init_weights)
        return ModelBundle("vae", image_size, width, generator=vae.decoder, vae=vae)
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")


def generator_padding(architecture: str, recipe: str) -> Padding:
    """How the generator of a run pads its convolutions (see DCGANGenerator)."""
    return "reflect" if (architecture, recipe) == ("dcgan", "fewshot") else "zeros"


def base_generator(bundle: ModelBundle) -> nn.Module:
    """The network mapping z [N, 128] -> image before any decoding step: the EMA generator when
    the recipe keeps one, else the DCGAN generator or the VAE decoder."""
    return bundle.ema if bundle.ema is not None else bundle.generator


def generator_for_export(bundle: ModelBundle) -> nn.Module:
    """What users get, z [N, 128] -> image [N, 3, S, S]: `base_generator`, followed by the snap to
    the style's palette when the bundle has one."""
    base = base_generator(bundle)
    return base if bundle.palette is None else PaletteDecoder(base, bundle.palette)


def generator_state_bytes(bundle: ModelBundle) -> bytes:
    """Self-describing generator weights (and palette): enough to rebuild it without the training config."""
    buf = io.BytesIO()
    base = base_generator(bundle)
    state = {k: v.detach().cpu() for k, v in base.state_dict().items()}
    palette = None if bundle.palette is None else bundle.palette.detach().cpu().float()
    torch.save({"architecture": bundle.architecture, "image_size": bundle.image_size,
                "width": bundle.width, "latent_dim": LATENT_DIM, "state_dict": state, "palette": palette,
                "padding_mode": getattr(base, "padding_mode", "zeros")}, buf)
    return buf.getvalue()


def load_generator(data: bytes) -> nn.Module:
    """Rebuild an exported generator (eval mode) from `generator_state_bytes` output: a
    DCGANGenerator (the VAE's decoder is one too) or a CollageGenerator, wrapped in its
    PaletteDecoder when the version has a palette."""
    blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    g: nn.Module
    if blob["architecture"] == "collage":
        g = CollageGenerator(blob["image_size"], blob["width"], blob["latent_dim"])
    else:  # weights saved before padding was recorded were trained with zero padding
        g = DCGANGenerator(blob["image_size"], blob["width"], blob["latent_dim"], blob.get("padding_mode", "zeros"))
    g.load_state_dict(blob["state_dict"])
    palette = blob.get("palette")
    return (g if palette is None else PaletteDecoder(g, palette)).eval()
