import pytest
import torch

from services.trainer.diffaugment import POLICIES, cutout, diff_augment, translation


def test_same_generator_state_same_augmentation_and_gradients_flow() -> None:
    x = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_()
    a = diff_augment(x, torch.Generator().manual_seed(1))
    b = diff_augment(x, torch.Generator().manual_seed(1))
    c = diff_augment(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_shifts_content_and_cutout_blanks_a_quarter() -> None:
    x = torch.zeros(8, 3, 32, 32)
    x[:, :, 12:20, 12:20] = 1.0
    moved = translation(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and torch.allclose(moved.sum((1, 2, 3)), x.sum((1, 2, 3)))  # fully inside
    assert any(not torch.equal(moved[i], x[i]) for i in range(8))
    ones = torch.ones(8, 3, 32, 32)
    cut = cutout(ones, torch.Generator().manual_seed(0))
    assert torch.all((cut == 0).float().mean((1, 2, 3)) == 0.25)  # a 16x16 square of 32x32


def test_unknown_policy_is_refused() -> None:
    assert POLICIES == ("color", "translation", "cutout")
    with pytest.raises(ValueError, match="policy"):
        diff_augment(torch.zeros(1, 3, 8, 8), torch.Generator(), ("rotate",))
