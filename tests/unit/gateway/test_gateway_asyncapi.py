"""The AsyncAPI 3.0 document of the events validates with the AsyncAPI project's own parser
(`@asyncapi/parser` from npm, pinned, installed under .tools/ by deploy/local/install-tools.sh)
and names every registered subject, the streams, the WebSocket channel and the webhook delivery."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from services.gateway.asyncapi import document, render_html
from shared.contracts.events import registered_subjects
from shared.contracts.webhooks import subscribable_types
from shared.messaging.streams import EVENT_STREAMS

REPO = Path(__file__).resolve().parents[3]
NODE_MODULES = REPO / ".tools" / "node_modules"
VALIDATOR = REPO / "tests" / "support" / "validate_asyncapi.cjs"


def parse(doc: dict[str, object], tmp_path: Path) -> tuple[int, dict[str, object]]:
    assert (NODE_MODULES / "@asyncapi" / "parser").is_dir(), \
        f"@asyncapi/parser is missing under {NODE_MODULES}: run `bash deploy/local/install-tools.sh`"
    node = shutil.which("node")
    assert node, "node is needed to run the AsyncAPI parser"
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)}, check=False)
    return done.returncode, json.loads(done.stdout or "{}")


def test_the_document_validates_with_the_asyncapi_parser(tmp_path: Path) -> None:
    rc, result = parse(document(), tmp_path)
    assert rc == 0 and result["errors"] == [], result
    addresses = set(result["addresses"])  # type: ignore[arg-type]
    assert set(registered_subjects()) <= addresses
    assert {"/v1/events", "{endpointUrl}"} <= addresses


def test_the_parser_refuses_a_broken_document(tmp_path: Path) -> None:
    """The check above can fail: a dangling reference is an error."""
    doc = document()
    doc["channels"]["live-events"]["messages"]["ghost"] = {"$ref": "#/components/messages/ghost"}  # type: ignore[index]
    rc, result = parse(doc, tmp_path)
    assert rc == 1 and any(e["code"] == "invalid-ref" for e in result["errors"]), result  # type: ignore[union-attr]


def test_every_subject_has_its_payload_stream_and_envelope() -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    for subject in registered_subjects():
        channel = doc["channels"][subject.replace(".", "-")]
        assert channel["address"] == subject
        message = doc["components"]["messages"][subject.replace(".", "-")]
        event = schemas[message["payload"]["$ref"].rsplit("/", 1)[-1]]
        assert event["allOf"][0] == {"$ref": "#/components/schemas/CloudEvent"}
        assert event["allOf"][1]["properties"]["type"]["const"] == f"atelier.{subject}"
        assert message["tags"][0]["name"] in (*EVENT_STREAMS, "JOBS")
    webhook = doc["channels"]["webhook-delivery"]["messages"]
    assert {f"webhook-{s.replace('.', '-')}" for s in subscribable_types()} <= set(webhook)
    assert "webhook-signature" in schemas["WebhookHeaders"]["properties"]
    for name in EVENT_STREAMS:
        assert name in doc["info"]["description"]


def test_the_page_lists_every_subject_offline() -> None:
    page = render_html(document())
    for subject in registered_subjects():
        assert f"<code>{subject}</code>" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
