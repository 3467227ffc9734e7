"""Behind the production Ingress the gateway counts clients, not the ingress: ATELIER_FORWARDED_HOPS
matches the one proxy in front of it (rate limits and the login guard key on the client address)."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from services.gateway.ratelimit import client_address
from services.gateway.settings import GatewaySettings
from tests.deploy.k8s_manifests import by_kind, named, render


def _gateway_env(target: str) -> dict[str, str]:
    deployment = named(render(target), "Deployment", "atelier-gateway")
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "gateway")
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_prod_gateway_trusts_exactly_the_ingress_hop() -> None:
    docs = render("prod")
    assert len(by_kind(docs, "Ingress")) == 1  # one proxy between clients and the gateway
    env = _gateway_env("prod")
    assert env["ATELIER_FORWARDED_HOPS"] == "1"
    settings = GatewaySettings.model_validate({"forwarded_hops": env["ATELIER_FORWARDED_HOPS"]})
    # ingress-nginx appends the address it saw: a client-sent entry in front of it is not believed.
    request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert client_address(request, settings.forwarded_hops) == "203.0.113.9"


def test_dev_without_ingress_trusts_no_forwarded_header() -> None:
    assert not by_kind(render("dev"), "Ingress")
    assert "ATELIER_FORWARDED_HOPS" not in _gateway_env("dev")  # 0: the peer address, headers ignored
