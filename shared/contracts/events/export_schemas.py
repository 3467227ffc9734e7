"""Generate the JSON Schema of every registered event (envelope + payload).

    python -m shared.contracts.events.export_schemas --write   # refresh shared/contracts/events/schemas/
    python -m shared.contracts.events.export_schemas --check   # exit 1 when the checked-in files drift
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts.events.envelope import TYPE_PREFIX, CloudEvent
from shared.contracts.events.registry import payload_model, registered_subjects

SCHEMA_DIR = Path(__file__).with_name("schemas")


def event_schema(subject: str) -> dict[str, Any]:
    model = payload_model(subject)
    envelope = CloudEvent.model_json_schema(mode="serialization")
    data = model.model_json_schema(mode="serialization")
    defs = {**envelope.pop("$defs", {}), **data.pop("$defs", {})}
    envelope["properties"]["data"] = data
    envelope["properties"]["type"] = {"const": TYPE_PREFIX + subject, "type": "string"}
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://atelier.dev/schemas/events/{subject}.json",
        "title": subject,
        "description": model.description,
        "x-nats-subject": subject,
        **envelope,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def generate() -> dict[str, str]:
    files = {
        f"{subject}.json": json.dumps(event_schema(subject), indent=2, sort_keys=True) + "\n"
        for subject in registered_subjects()
    }
    files["index.json"] = json.dumps({"subjects": registered_subjects()}, indent=2) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    files = generate()
    if args.write:
        SCHEMA_DIR.mkdir(exist_ok=True)
        for stale in set(p.name for p in SCHEMA_DIR.glob("*.json")) - set(files):
            (SCHEMA_DIR / stale).unlink()
        for name, text in files.items():
            (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {len(files)} schemas to {SCHEMA_DIR}")
        return 0
    drift = [n for n, t in files.items() if not (SCHEMA_DIR / n).exists() or (SCHEMA_DIR / n).read_text() != t]
    if drift:
        print("event schemas drifted from the registry (run `make schemas`):", ", ".join(drift))
        return 1
    print("event schemas up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
