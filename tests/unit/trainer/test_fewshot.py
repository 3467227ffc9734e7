"""The fewshot recipe: DiffAugment replaces real-set augmentation, the EMA generator is exported,
and a held-out split is reported when the dataset allows it."""

import torch

from services.trainer.dataset import ImageDataset
from services.trainer.models import build, generator_for_export, generator_state_bytes, load_generator
from services.trainer.palette import PaletteDecoder
from services.trainer.quality import DESCRIPTOR_DIM
from services.trainer.training import TrainConfig, TrainingSession, train


def tiny(steps: int = 6, **kw) -> TrainConfig:
    return TrainConfig(architecture="dcgan", image_size=32, steps=steps, batch_size=8, width=8, seed=3, **kw)


def test_fewshot_is_the_default_and_augments_inside_the_discriminator_step(geometric_images) -> None:
    session = TrainingSession(tiny(), ImageDataset(geometric_images, 32, None), torch.device("cpu"))
    assert session.config.recipe == "fewshot" and session.bundle.ema is not None
    assert session.diffaugment and not session.dataset.augment  # real batches are no longer enlarged
    big = TrainingSession(tiny(augment=False), ImageDataset(geometric_images, 32, False), torch.device("cpu"))
    assert not big.diffaugment


def test_exported_weights_are_the_ema_generator_not_the_live_one(geometric_images) -> None:
    result = train(tiny(steps=8), geometric_images, compute_metrics=False)
    from services.trainer.training import Checkpoint

    models = Checkpoint.from_bytes(result.checkpoint).state["models"]
    loaded = load_generator(result.generator_state)
    assert isinstance(loaded, PaletteDecoder)  # a flat style: the EMA generator, then the palette snap
    exported = loaded.generator.state_dict()
    assert all(torch.equal(exported[k], models["ema"][k]) for k in exported)
    assert any(not torch.equal(exported[k], models["generator"][k]) for k in exported)
    # Reflect-padded, as trained: the rebuilt generator draws what the trained one drew.
    assert loaded.generator.padding_mode == "reflect"
    assert all(m.padding_mode == "reflect" for m in loaded.generator.modules() if isinstance(m, torch.nn.Conv2d))
    session = TrainingSession(tiny(steps=8), ImageDataset(geometric_images, 32, None), torch.device("cpu"))
    session.load(Checkpoint.from_bytes(result.checkpoint), weights_only=True)
    z = torch.randn(4, 128, generator=torch.Generator().manual_seed(0))
    assert session.bundle.ema is not None
    assert torch.equal(loaded.generator(z), session.bundle.ema.eval()(z))


def test_old_recipe_still_available_and_exports_its_generator() -> None:
    torch.manual_seed(0)
    bundle = build("dcgan", 32, width=8, recipe="dcgan")
    assert bundle.ema is None and generator_for_export(bundle) is bundle.generator
    z = torch.randn(2, 128)
    assert torch.equal(load_generator(generator_state_bytes(bundle))(z), bundle.generator.eval()(z))


def test_held_out_split_and_its_metrics_appear_in_the_result(geometric_images) -> None:
    # Few SWD patches and samples: the metrics' presence and ranges are tested here, not their precision.
    result = train(tiny(steps=4, eval_samples=16, eval_descriptors=256), geometric_images)  # 16 works: 4 held out
    m = result.metrics
    assert m["train_works"] == 12 and m["heldout_works"] == 4
    for key in ("swd_heldout", "swd_heldout_untrained", "precision", "recall", "recall_heldout",
                "memorisation_nn_distance_mean", "memorisation_originality_median",
                "memorisation_near_copy_fraction"):
        assert key in m and m[key] == m[key], key
    assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1
    assert result.originality is not None and result.originality["descriptors"].shape == (16, DESCRIPTOR_DIM)
    assert result.directions is not None and result.directions["vectors"].shape == (5, 128)
    few = train(tiny(steps=2, eval_samples=16, eval_descriptors=256), geometric_images[:8]).metrics
    assert few["heldout_works"] == 0 and "swd_heldout" not in few and few["train_works"] == 8


def test_held_out_split_does_not_depend_on_input_order(geometric_images) -> None:
    a = TrainingSession(tiny(), ImageDataset(geometric_images, 32, None), torch.device("cpu"))
    b = TrainingSession(tiny(), ImageDataset(list(reversed(geometric_images)), 32, None), torch.device("cpu"))
    assert a.heldout is not None and b.heldout is not None
    key = lambda t: sorted(map(tuple, t.flatten(1)[:, :64].tolist()))  # noqa: E731
    assert key(a.heldout) == key(b.heldout)


def test_discriminator_judges_patches_and_old_whole_image_checkpoints_refine_from_their_average(
        geometric_images) -> None:
    from services.trainer.training import Checkpoint

    session = TrainingSession(tiny(), ImageDataset(geometric_images, 32, None), torch.device("cpu"))
    assert session.bundle.discriminator is not None
    assert session.bundle.discriminator(torch.zeros(2, 3, 32, 32)).shape == (2, 64)  # an 8x8 map each
    result = train(tiny(steps=4), geometric_images, compute_metrics=False)
    ckpt = Checkpoint.from_bytes(result.checkpoint)
    assert ckpt.state["discriminator"] == "PatchDiscriminator" and ckpt.same_recipe(tiny())
    # A checkpoint written before the patch discriminator: no "discriminator" key, other D weights.
    old = dict(ckpt.state, models=dict(ckpt.state["models"], discriminator={"body.0.weight": torch.zeros(1)}))
    del old["discriminator"]
    old_ckpt = Checkpoint(ckpt.step, ckpt.architecture, ckpt.image_size, ckpt.dataset_sha256, old)
    assert not old_ckpt.same_recipe(tiny())
    refine = TrainingSession(tiny(), ImageDataset(geometric_images, 32, None), torch.device("cpu"))
    refine.load(old_ckpt, weights_only=True)  # a refine keeps the generator's average, starts a new D
    assert refine.bundle.ema is not None
    assert all(torch.equal(v, old["models"]["ema"][k]) for k, v in refine.bundle.ema.state_dict().items())
    try:
        TrainingSession(tiny(), ImageDataset(geometric_images, 32, None), torch.device("cpu")).load(old_ckpt)
    except ValueError as exc:  # an exact resume cannot continue another discriminator's training
        assert "recipe" in str(exc)
    else:
        raise AssertionError("resuming an old-discriminator checkpoint must be refused")
