"""The OpenAPI document is valid OpenAPI 3.1 and describes every route the gateway serves."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openapi_spec_validator import validate

from services.gateway.app import create_app
from services.gateway.app import openapi_document as document
from services.gateway.openapi import LIVE_PATHS, OPS_PATHS
from services.gateway.settings import GatewaySettings

UNDOCUMENTED = {"/app/{filename}"}  # the web app's static files


async def gateway_routes(tmp_path: Path) -> set[tuple[str, str]]:
    key = tmp_path / "jwt.pub.pem"
    key.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    app = await create_app(GatewaySettings(jwt_public_key_file=key))  # building does no I/O
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method in ("HEAD", "*") or path in UNDOCUMENTED or path.startswith("/app"):
            continue
        found.add((route.method.lower(), path))
    return found


def test_document_is_valid_openapi_31() -> None:
    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")


async def test_every_route_is_described(tmp_path: Path) -> None:
    paths = document()["paths"]
    routes = await gateway_routes(tmp_path)
    missing = sorted(f"{m.upper()} {p}" for m, p in routes if m not in paths.get(p, {}))
    assert not missing, f"routes without an OpenAPI entry: {missing}"
    assert ("get", "/v1/events") in routes


def test_edge_behaviour_is_documented_on_operations() -> None:
    paths = document()["paths"]
    events = paths["/v1/events"]["get"]
    assert "101" in events["responses"] and "429" in events["responses"]
    assert "since" in events["description"] and "4008" in events["description"]
    for item in paths.values():
        if "post" in item:
            names = [p.get("name") or p.get("$ref", "").rsplit("/", 1)[-1] for p in item["post"].get("parameters", [])]
            assert "Idempotency-Key" in names or "IdempotencyKey" in names


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_json_success_response_has_a_schema_with_properties() -> None:
    doc = document()
    bare = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if not status.startswith("2") or "$ref" in response:
                    continue
                for media, content in response.get("content", {}).items():
                    if media != "application/json":
                        continue
                    schema = _resolve(doc, content.get("schema") or {})
                    if not schema.get("properties"):
                        bare.append(f"{method.upper()} {path} {status}")
    assert not bare, f"2xx JSON responses without a schema with properties: {bare}"


def test_every_parameter_is_described() -> None:
    doc = document()
    undescribed = [
        f"{method.upper()} {path} {p['name']}"
        for path, item in doc["paths"].items() for method, op in item.items()
        for p in op.get("parameters", []) if "$ref" not in p and not p.get("description")
    ]
    assert not undescribed, f"parameters without a description: {undescribed}"


def test_every_operation_lists_the_edge_answers_it_can_give() -> None:
    """What the edge answers before or around any route is listed on each operation it applies to
    (tests/e2e/test_openapi_statuses.py provokes them against the live gateway)."""
    own = set(OPS_PATHS) | set(LIVE_PATHS)
    missing = []
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            wanted = {"401", "414", "431"}
            if path not in ("/healthz", "/readyz"):
                wanted.add("429")
            if method == "post":
                wanted |= {"400", "409", "413", "422"}
            if "requestBody" in op:
                wanted |= {"400", "413", "415", "422"}
            if path not in own:  # served by a route module: a service behind it can be down or slow
                wanted |= {"503", "504"}
            if not wanted <= set(op["responses"]):
                missing.append(f"{method.upper()} {path}: {sorted(wanted - set(op['responses']))}")
    assert not missing, missing
