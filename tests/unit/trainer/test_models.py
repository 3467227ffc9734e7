import pytest
import torch

from services.trainer.models import LATENT_DIM, build, generator_for_export, generator_state_bytes, load_generator


@pytest.mark.parametrize("size", [32, 64])
def test_dcgan_generates_images_in_range_and_discriminator_scores_each(size: int) -> None:
    torch.manual_seed(0)
    bundle = build("dcgan", size, width=8)
    images = bundle.generator(torch.randn(3, LATENT_DIM))
    assert images.shape == (3, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert bundle.discriminator is not None
    assert bundle.discriminator(images).shape == (3,)


@pytest.mark.parametrize("size", [32, 64])
def test_vae_reconstructs_and_decodes_at_the_image_size(size: int) -> None:
    torch.manual_seed(0)
    bundle = build("vae", size, width=8)
    assert bundle.vae is not None
    x = torch.rand(2, 3, size, size) * 2 - 1
    recon, mu, logvar = bundle.vae(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, LATENT_DIM)
    decoded = bundle.vae.decode(torch.randn(4, LATENT_DIM))
    assert decoded.shape == (4, 3, size, size) and decoded.abs().max() <= 1
    assert generator_for_export(bundle) is bundle.vae.decoder


def test_unknown_size_or_architecture_is_refused() -> None:
    with pytest.raises(ValueError):
        build("dcgan", 48)
    with pytest.raises(ValueError):
        build("diffusion", 32)


def test_saved_generator_reloads_with_identical_output() -> None:
    torch.manual_seed(1)
    bundle = build("dcgan", 32, width=8)
    z = torch.randn(5, LATENT_DIM)
    want = generator_for_export(bundle).eval()(z)
    got = load_generator(generator_state_bytes(bundle))(z)
    assert torch.equal(got, want)
