"""A generation batch is filled up to a number of images, not only of jobs."""

from __future__ import annotations

import json

from services.inference.events import job_images


def _job(**data: object) -> bytes:
    return json.dumps({"specversion": "1.0", "type": "atelier.jobs.generate", "data": data}).encode()


def test_a_job_weighs_the_images_it_asks_for() -> None:
    assert job_images(_job(generation_id="g", owner_id="u", count=16)) == 16
    assert job_images(_job(generation_id="g", owner_id="u", count=1)) == 1


def test_a_job_without_a_count_or_unreadable_weighs_one() -> None:
    assert job_images(_job(generation_id="g", owner_id="u")) == 1
    assert job_images(b"{not json") == 1
    assert job_images(_job(generation_id="g", count=-3)) == 1
    assert job_images(json.dumps({"data": None}).encode()) == 1
