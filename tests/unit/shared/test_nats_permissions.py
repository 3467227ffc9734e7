"""The NATS permission declaration agrees with what the code does: each service's consumers, the
RPCs it calls, the gateway's tails and KV bucket; and connection options follow the settings."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from services.assets.events import VISIBILITY_CONSUMER
from services.gateway import routes
from services.gateway.live.cursor import LIVE_STREAMS
from services.gateway.settings import GatewaySettings
from services.inference.events import ENDED_SPEC, MODELS_SPEC, generate_spec
from services.trainer.events import train_spec
from services.trainer.settings import TrainerSettings
from shared.messaging import permissions
from shared.messaging.connection import identity_options
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[3]
CALLERS = {"call", "call_raw", "forward", "forward_model"}


def _contract_aliases(tree: ast.Module) -> dict[str, str]:
    """`from shared.contracts import assets as a` -> {"a": "shared.contracts.assets"}."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "shared.contracts":
            for name in node.names:
                aliases[name.asname or name.name] = f"shared.contracts.{name.name}"
    return aliases


def _operations_called(path: Path) -> set[str]:
    """Subjects of the contract operations a module passes to call/call_raw/forward (AST, not regex)."""
    tree = ast.parse(path.read_text())
    aliases = _contract_aliases(tree)
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in CALLERS:
            continue
        for arg in node.args[1:2]:
            candidates = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            for cand in candidates:
                if isinstance(cand, ast.Attribute) and isinstance(cand.value, ast.Name) and cand.value.id in aliases:
                    op = getattr(importlib.import_module(aliases[cand.value.id]), cand.attr)
                    found.add(op.subject)
    return found


@pytest.mark.parametrize(("service", "spec"), [
    ("assets", VISIBILITY_CONSUMER), ("inference", MODELS_SPEC), ("inference", ENDED_SPEC),
    ("inference", generate_spec(5)), ("trainer", train_spec(TrainerSettings())),
])
def test_every_consumer_in_code_is_declared_for_its_service(service: str, spec: object) -> None:
    declared = {(c.stream, c.durable) for c in permissions.identity(service).consumers}
    assert (spec.stream, spec.durable) in declared  # type: ignore[attr-defined]


def _dead_letter_consumers(service: str) -> set[str]:
    """Durables whose JetStreamConsumer/BatchJetStreamConsumer gets an `on_dead_letter` in the code."""
    specs = {"MODELS_SPEC": MODELS_SPEC.durable, "spec": generate_spec(5).durable,
             "train_spec": train_spec(TrainerSettings()).durable}
    found = set()
    for path in (REPO / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and any(k.arg == "on_dead_letter" for k in node.keywords):
                arg = node.args[2]
                name = arg.id if isinstance(arg, ast.Name) else getattr(arg.func, "id", "")
                found.add(specs[name])
    return found


@pytest.mark.parametrize("service", ["trainer", "inference"])
def test_every_consumer_with_a_dead_letter_path_may_read_its_advisory(service: str) -> None:
    """Without the grant the advisory subscription is refused (a logged permissions violation) and
    the dead-letter handler never runs."""
    dead_letter = {c.durable for c in permissions.identity(service).consumers if c.dead_letter}
    assert _dead_letter_consumers(service) == dead_letter


def test_no_identity_may_delete_from_an_event_stream() -> None:
    for ident in permissions.IDENTITIES:
        allowed = permissions.permissions(ident)["publish"]
        assert isinstance(allowed, dict)
        for stream in permissions.EVENT_STREAMS:
            assert f"$JS.API.STREAM.MSG.DELETE.{stream}" not in allowed["allow"], ident.name


def _called(service: str) -> set[str]:
    found: set[str] = set()
    for path in (REPO / "services" / service).rglob("*.py"):
        found |= _operations_called(path)
    return found


@pytest.mark.parametrize("service", ["community", "assets", "trainer", "inference"])
def test_a_service_may_call_exactly_the_rpcs_its_code_calls(service: str) -> None:
    called = _called(service)
    assert called, f"found no RPC call in services/{service}: the pattern no longer matches the code"
    assert called == set(permissions.identity(service).calls)


def test_the_gateway_is_denied_only_operations_it_does_not_call() -> None:
    # What the gateway calls: every route table's operations plus what its handlers pass to call/forward.
    ops = {route.op.subject for module in routes.MODULES for route in module.ROUTES}
    for path in (REPO / "services" / "gateway").rglob("*.py"):
        ops |= _operations_called(path)
    assert len(ops) > 20, "found too few of the gateway's operations: the scan no longer matches the code"
    assert not ops & set(permissions.INTERNAL_RPCS), "the gateway uses operations its identity is denied"


def test_the_gateway_declaration_matches_its_live_streams_and_bucket() -> None:
    assert permissions.LIVE_STREAMS == LIVE_STREAMS
    assert GatewaySettings().idempotency_bucket == permissions.IDEMPOTENCY_BUCKET


def test_nobody_but_community_and_admin_may_subscribe_to_community_rpcs() -> None:
    for ident in permissions.IDENTITIES:
        allowed = permissions.permissions(ident)["subscribe"]["allow"]  # type: ignore[index]
        reads_community = any(s in (">", "svc.>", "svc.community.>", "svc.community.auth.*") for s in allowed)
        assert reads_community is (ident.name in ("community", permissions.ADMIN)), ident.name
        assert not [s for s in allowed if s.startswith("_INBOX") and not s.startswith(
            permissions.inbox_prefix(ident.name) + ".")], ident.name


def test_only_admin_may_manage_the_platform_streams() -> None:
    for ident in permissions.IDENTITIES:
        publish = permissions.permissions(ident)["publish"]  # type: ignore[index]
        manages = any(s.startswith("$JS.API.STREAM.CREATE.COMMUNITY") or s in (">", "$JS.API.>", "$JS.>")
                      for s in publish["allow"])
        assert manages is (ident.name == permissions.ADMIN), ident.name


def test_unset_settings_connect_as_today_and_a_user_gets_its_own_inbox() -> None:
    assert identity_options(ServiceSettings()) == {}
    options = identity_options(ServiceSettings(nats_user="assets", nats_password="pw"))  # type: ignore[arg-type]
    assert options == {"user": "assets", "password": "pw", "inbox_prefix": "_INBOX_assets"}
    explicit = identity_options(ServiceSettings(nats_user="assets", nats_inbox_prefix="_INBOX_x"))
    assert explicit["inbox_prefix"] == "_INBOX_x"
