"""What a version ships for inference (directions.json, originality.json) and that inference's
numpy side reads it the way the trainer meant: same descriptors, same edit along a direction."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
import torch

from services.inference import latents
from services.trainer import directions as trainer_directions
from services.trainer import quality, service
from services.trainer.directions import early_activation, latent_directions
from services.trainer.evaluation import generate
from services.trainer.models import LATENT_DIM, build
from services.trainer.version_files import directions_document, originality_document
from shared import originality
from shared.contracts import inference as inference_contract


def _generator(seed: int = 0, size: int = 32) -> torch.nn.Module:
    torch.manual_seed(seed)
    g = build("dcgan", size, width=8).generator
    g.train()
    with torch.no_grad():
        for _ in range(5):
            g(torch.randn(16, LATENT_DIM))
    return g.eval()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_inference_descriptors_equal_the_trainers(size: int) -> None:
    images = generate(_generator(size=size), torch.randn(6, LATENT_DIM, generator=torch.Generator().manual_seed(2)))
    noise = torch.rand(2, 3, size, size) * 2 - 1
    for x in (images, noise):
        assert np.abs(originality.descriptors(x.numpy()) - quality.descriptors(x)).max() < 1e-5


def test_the_shipped_reference_scores_like_the_trainers_originality(geometric_images: list[bytes]) -> None:
    from services.trainer.dataset import ImageDataset

    works = ImageDataset(geometric_images[:8], 64, False).tensors
    reference = quality.originality_reference(works)
    doc = orjson.loads(orjson.dumps(originality_document(reference, [f"w{i}" for i in range(8)])))
    assert [w["work_id"] for w in doc["works"]] == [f"w{i}" for i in range(8)]
    assert all(len(w["descriptors"]) == 1 and len(w["descriptors"][0]) == 432 for w in doc["works"])
    probe = torch.cat([works[2:3], generate(_generator(size=64), torch.randn(3, LATENT_DIM))])
    want = quality.originality(probe, reference)
    got = originality.score(probe.numpy(), doc)
    for w, g in zip(want, got, strict=True):
        assert g is not None and g["near_copy"] == w["near_copy"]
        assert g["originality"] == pytest.approx(w["originality"], abs=2e-3)  # float16 descriptors, rounded
    assert got[0] is not None and got[0]["near_copy"] and got[0]["nearest_work_id"] == "w2"


def test_without_sources_each_image_is_its_own_entry() -> None:
    reference = quality.originality_reference(torch.rand(3, 3, 32, 32) * 2 - 1)
    doc = originality_document(reference, None)
    assert [w["work_id"] for w in doc["works"]] == ["image-0", "image-1", "image-2"]


def test_directions_document_lists_numbered_labelled_unit_vectors() -> None:
    doc = orjson.loads(orjson.dumps(directions_document(latent_directions(_generator()))))
    found = doc["directions"]
    assert [d["id"] for d in found] == [1, 2, 3, 4, 5]
    assert [d["label"] for d in found] == [f"direction {i}" for i in range(1, 6)]
    assert all(np.isclose(np.linalg.norm(d["vector"]), 1.0, atol=1e-5) for d in found)
    assert [d["variance_share"] for d in found] == sorted((d["variance_share"] for d in found), reverse=True)


def test_an_edit_from_inference_moves_the_generators_activation_monotonically_along_its_component() -> None:
    g = _generator()
    dirs = latent_directions(g)
    vectors = np.asarray([d["vector"] for d in directions_document(dirs)["directions"]], np.float32)
    for k in (1, 3):
        component = torch.from_numpy(dirs["components"][k - 1])
        projections = []
        for amount in (-3.0, -1.0, 0.0, 0.5, 2.0, 4.0):
            batch = latents.latents_for_request("edit", count=2, seed=11, direction=k, amount=amount,
                                                directions=vectors)
            projections.append((early_activation(g, torch.from_numpy(batch.z)) @ component).numpy())
        steps = np.diff(np.stack(projections), axis=0)
        assert np.all(steps > 0), steps  # strictly increasing in amount, for every output
        # ...and linearly: amount t moves the projection by t * sigma_k (GANSpace on a linear layer).
        sigma = float(dirs["singular_values"][k - 1])
        assert np.allclose(projections[-1] - projections[2], 4.0 * sigma, rtol=1e-3)


def test_every_side_agrees_on_the_edit_amount_limit() -> None:
    assert (trainer_directions.MAX_AMOUNT == latents.MAX_EDIT_AMOUNT == service.MAX_EDIT_AMOUNT
            == inference_contract.MAX_EDIT_AMOUNT)
    assert originality.DESCRIPTOR_DIM == quality.DESCRIPTOR_DIM
    assert originality.DESCRIPTOR_SIZE == quality.DESCRIPTOR_SIZE


class _Objects:
    """An in-memory stand-in for the object store (unit test only)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def write(self, key: str, data: bytes, content_type: str = "") -> None:
        self.files[key] = data

    async def read(self, key: str) -> bytes | None:
        return self.files.get(key)


async def test_a_version_ships_what_its_result_carries_and_nothing_else() -> None:
    from services.trainer.version_files import read_directions, write_version_files

    objects = _Objects()
    path = "models/m1/2/"
    reference = quality.originality_reference(torch.rand(3, 3, 32, 32) * 2 - 1)
    written = await write_version_files(objects, path, {  # type: ignore[arg-type]
        "directions": latent_directions(_generator()), "originality": reference,
        "image_sources": ["w1", "w1", None]})
    assert written == ["directions.json", "originality.json"]
    doc = orjson.loads(objects.files["models/m1/2/originality.json"])
    assert [(w["work_id"], len(w["descriptors"])) for w in doc["works"]] == [("w1", 2)]  # no generation rows
    listed = await read_directions(objects, path)  # type: ignore[arg-type]
    assert listed is not None and [d["id"] for d in listed] == [1, 2, 3, 4, 5]
    # A DDP run reports neither: the version ships no side files and lists no directions.
    bare = _Objects()
    assert await write_version_files(bare, "models/m1/3/", {"metrics": {}}) == []  # type: ignore[arg-type]
    assert await read_directions(bare, "models/m1/3/") is None  # type: ignore[arg-type]
