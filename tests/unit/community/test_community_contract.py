"""The community contract: every declared operation is served, every public one is routed with
described path parameters, and the store hands out typed rows."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from services.community.deps import Deps
from services.community.rpc import register
from services.community.store.rows import CollectionRow, LockedCollection, WorkRow, many, one, required
from services.gateway.app import openapi_document
from services.gateway.routes import community as routes
from shared.contracts import community as c
from shared.contracts.operation import operations
from shared.messaging.rpc import RpcServer

# Operations other services call directly; the public API does not expose them.
# `users.export` is called by the gateway's streamed export handler (accounts_edge.py), not a route.
INTERNAL = {"users.get", "users.followees", "works.training_set", "works.using_asset", "users.export"}


def test_every_declared_operation_is_served() -> None:
    server = RpcServer(cast(Any, None), c.SERVICE)
    register(server, cast(Deps, object()))
    assert server.missing() == []
    assert server.operations == sorted(op.name for op in operations(c.SERVICE))


def test_every_public_operation_has_a_route_and_internal_ones_have_none() -> None:
    routed = {route.op.name for route in routes.ROUTES}
    declared = {op.name for op in operations(c.SERVICE)}
    assert routed == declared - INTERNAL
    assert INTERNAL <= declared


def test_path_parameters_are_request_fields_with_descriptions() -> None:
    for route in routes.ROUTES:
        for name in (part[1:-1] for part in route.path.split("/") if part.startswith("{")):
            field = route.op.request.model_fields.get(name)
            assert field is not None and field.description, f"{route.method} {route.path}: {name}"


def test_the_gateway_routes_do_not_import_the_service() -> None:
    tree = ast.parse(inspect.getsource(routes))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("services.community")]


def test_bodies_keep_the_public_rules_and_requests_add_the_path() -> None:
    update = c.WorkUpdate.model_validate({"id": "w1", "title": " New "})
    assert (update.id, update.title) == ("w1", "New")
    with pytest.raises(ValueError):
        c.WorkPatch.model_validate({"id": "w1"})  # a body cannot name the work: the path does
    with pytest.raises(ValueError):
        c.WorkCreate.model_validate({"title": "t", "asset_ids": ["a"], "model_id": "m"})  # only inference credits
    assert c.AiWorkCreate.model_validate({"title": "t", "asset_ids": ["a"], "model_id": "m"}).model_id == "m"


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _collection(**extra: Any) -> dict[str, Any]:
    return {"id": "c1", "owner_id": "u1", "owner_username": "ada", "title": "t", "description": "",
            "visibility": "public", "training_set": False, "created_at": NOW, "updated_at": NOW, "work_count": 2,
            **extra}


def test_rows_take_the_columns_they_declare() -> None:
    row = one(CollectionRow, _collection(unrelated="ignored"))
    assert row is not None and row.work_count == 2 and not hasattr(row, "unrelated")
    assert one(CollectionRow, None) is None
    assert many(LockedCollection, [{"id": "a", "owner_id": "u"}, {"id": "b", "owner_id": "v"}]) == [
        LockedCollection("a", "u"), LockedCollection("b", "v")]
    with pytest.raises(LookupError):
        required(LockedCollection, None)
    with pytest.raises(TypeError):
        one(LockedCollection, {"id": "a"})  # a column the row needs is missing: a bug, not a silent None


def test_ranking_columns_default_when_a_query_does_not_select_them() -> None:
    work = {"id": "w", "author_id": "u", "author_username": "ada", "author_display_name": None, "title": "t",
            "description": "", "tags": [], "asset_ids": ["a"], "visibility": "public", "origin": "human",
            "allow_training": False, "model_id": None, "model_version": None, "model_owner_id": None,
            "generation_id": None, "like_count": 0, "comment_count": 0, "hidden": False, "score": 1.0,
            "created_at": NOW, "updated_at": NOW, "published_at": NOW, "liked_by_me": False}
    plain = required(WorkRow, work)
    ranked = required(WorkRow, {**work, "rank": 3.5})
    assert (plain.rank, plain.report_count, ranked.rank) == (None, None, 3.5)


def test_openapi_gives_every_community_answer_a_schema_with_properties() -> None:
    doc: dict[str, Any] = openapi_document()
    components, paths = doc["components"]["schemas"], doc["paths"]
    checked = 0
    for route in routes.ROUTES:
        op = paths[route.path][route.method.lower()]
        answer = op["responses"][str(route.status)]
        if route.status == 204:
            assert "content" not in answer
            continue
        name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert components[name]["properties"], f"{route.method} {route.path}"
        assert all(p.get("description") for p in op["parameters"] if "name" in p), f"{route.method} {route.path}"
        checked += 1
    assert checked >= 20
    assert "401" in paths["/v1/auth/login"]["post"]["responses"]  # a wrong password, though no token is needed
    work = components["Work"]["properties"]
    assert {"id", "author", "asset_ids", "liked_by_me", "published_at"} <= set(work)
