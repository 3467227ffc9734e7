import json

import pytest
from pydantic import ValidationError

from shared.contracts.events import CloudEvent, make_event, parse_event, payload_model, registered_subjects
from shared.contracts.events.catalog import TrainingProgress, UserCreated, WorkPublished
from shared.contracts.events.export_schemas import SCHEMA_DIR, generate
from shared.contracts.events.registry import EventPayload


def test_envelope_is_cloudevents_structured_json() -> None:
    event = make_event(UserCreated(user_id="01J0000000000000000000000A", username="ada"),
                       service="community", subject_id="01J0000000000000000000000A", correlation_id="req-1")
    doc = json.loads(event.to_json())
    assert doc["specversion"] == "1.0"
    assert doc["type"] == "atelier.community.user.created"
    assert doc["source"] == "atelier/community"
    assert doc["datacontenttype"] == "application/json"
    assert doc["time"].endswith("Z")
    assert doc["correlationid"] == "req-1"
    assert len(doc["id"]) == 26
    assert event.nats_subject == "community.user.created"
    assert parse_event(event.to_json()).payload() == UserCreated(user_id="01J0000000000000000000000A", username="ada")


def test_parse_rejects_payload_that_does_not_match_its_subject() -> None:
    event = make_event(UserCreated(user_id="u", username="ada"), service="community", subject_id="u")
    broken = json.loads(event.to_json())
    del broken["data"]["username"]
    with pytest.raises(ValidationError):
        parse_event(json.dumps(broken))


def test_unknown_subject_is_refused() -> None:
    with pytest.raises(KeyError):
        payload_model("community.work.exploded")


def test_subject_must_have_three_parts() -> None:
    with pytest.raises(ValueError):
        class Bad(EventPayload, subject="community.oops"):
            pass


def test_every_catalog_event_of_the_contract_is_registered() -> None:
    subjects = set(registered_subjects())
    assert {
        "community.user.created", "community.work.published", "community.work.liked",
        "community.work.commented", "community.user.followed", "assets.asset.stored",
        "trainer.model.queued", "trainer.training.progress", "trainer.model.trained",
        "trainer.training.failed", "trainer.training.canceled",
        "inference.generation.completed", "inference.generation.failed", "jobs.train", "jobs.generate",
    } <= subjects


def test_payload_tolerates_fields_added_by_newer_producers() -> None:
    data = {"model_id": "m", "owner_id": "o", "version": 1, "step": 3, "total_steps": 10,
            "losses": {"g": 1.0}, "new_field": 42}
    assert TrainingProgress.model_validate(data).step == 3


def test_checked_in_schemas_match_the_registry() -> None:
    files = generate()
    drift = [name for name, text in files.items()
             if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != text]
    assert not drift, f"run `make schemas`: {drift}"


def test_schema_validates_a_real_event() -> None:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / "community.work.published.json").read_text())
    event = make_event(WorkPublished(work_id="w", author_id="a", title="t", origin="ai", tags=["x"],
                                     asset_ids=["s"], visibility="public"), service="community", subject_id="w")
    jsonschema.validate(json.loads(event.to_json()), schema)
    bad = json.loads(event.to_json())
    bad["data"]["origin"] = "robot"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_cloud_event_round_trips_time_in_utc() -> None:
    event = CloudEvent(source="atelier/x", type="atelier.community.user.created", subject="s",
                       data={"user_id": "u", "username": "n"})
    again = CloudEvent.model_validate_json(event.to_json())
    assert again.time == event.time
