"""The local launcher's cluster mode (ATELIER_REPLICAS=2) without starting anything: the NATS
nodes' configs, nginx's config, instance names, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import __main__ as launcher
from deploy.local import nats_auth, nginx, procs, services
from deploy.local.nats_cluster import node_config, node_name
from deploy.local.stack import EmbeddedStack
from shared.messaging.connection import server_urls

PORTS = [(4001, 8001, 6001), (4002, 8002, 6002), (4003, 8003, 6003)]


def test_each_node_routes_to_the_two_others_with_its_own_store(tmp_path: Path) -> None:
    text = node_config(2, PORTS, tmp_path / "n2", nats_auth.new_passwords())
    assert 'listen: "127.0.0.1:4002"' in text and 'http: "127.0.0.1:8002"' in text
    assert '"nats-route://127.0.0.1:6001"' in text and '"nats-route://127.0.0.1:6003"' in text
    assert "6002\"]" not in text and 'listen: "127.0.0.1:6002"' in text
    assert str(tmp_path / "n2") in text and 'server_name: "atelier-n2"' in text
    assert "authorization" in text  # the same users and permissions as the single server
    assert [node_name(i) for i in (1, 2, 3)] == ["nats", "nats-2", "nats-3"]


def test_nginx_balances_the_gateways_and_passes_websocket_upgrades(tmp_path: Path) -> None:
    text = nginx.config(8080, ["127.0.0.1:9001", "127.0.0.1:9002"], tmp_path)
    assert "daemon off;" in text and "listen 127.0.0.1:8080;" in text
    assert "server 127.0.0.1:9001" in text and "server 127.0.0.1:9002" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert f"pid {tmp_path / 'nginx' / 'nginx.pid'};" in text


def test_without_nginx_cluster_mode_is_refused_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deploy.local.nginx.shutil.which", lambda _name: None)
    monkeypatch.setattr("deploy.local.nginx.Path.exists", lambda _self: False)
    with pytest.raises(procs.StartError, match="needs nginx"):
        EmbeddedStack(tmp_path, with_triton=False, replicas=2).start()
    assert not (tmp_path / "stack.json").exists() or "procs" not in (tmp_path / "stack.json").read_text()


def test_instance_names_map_back_to_their_service() -> None:
    assert [services.instance_name("community", i) for i in (1, 2)] == ["community", "community-2"]
    assert services.service_of("community-2") == "community"
    assert services.service_of("gateway") == "gateway"
    assert services.service_of("nats-2") is None and services.service_of("nginx") is None


def test_services_connect_with_every_server_of_a_cluster() -> None:
    assert server_urls("nats://a:1, nats://b:2,nats://c:3") == ["nats://a:1", "nats://b:2", "nats://c:3"]
    assert server_urls("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


@pytest.mark.parametrize("raw", ["0", "two", "-1", "9"])
def test_a_bad_replica_count_is_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_REPLICAS", raw)
    with pytest.raises(procs.StartError, match="ATELIER_REPLICAS"):
        launcher._replicas()


def test_one_replica_is_todays_single_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ATELIER_REPLICAS", raising=False)
    assert launcher._replicas() == 1
    stack = EmbeddedStack(tmp_path)
    assert stack.replicas == 1 and stack.nats_replicas == 1
    assert EmbeddedStack(tmp_path, replicas=2).nats_replicas == 3
