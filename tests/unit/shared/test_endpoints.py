"""The NATS micro discovery documents of a service instance (shared/messaging/endpoints.py): what
nats-py's own micro types read back, with the start time in PING metadata and per-endpoint counts."""

from __future__ import annotations

from nats.micro.service import ServiceInfo, ServicePing, ServiceStats

from shared.messaging.endpoints import Endpoint, Endpoints


def test_discovery_documents_read_back_as_micro_ones_with_what_each_endpoint_served() -> None:
    service = Endpoints(None, "probe", "0.1.0", "svc-probe", {"started_ms": "1700000000000"})  # type: ignore[arg-type]
    make = Endpoint("thing-make", "svc.probe.thing.make", "svc-probe")
    get = Endpoint("thing-get", "svc.probe.thing.get", "svc-probe")
    service.endpoints += [make, get]
    make.requests, get.requests = 3, 1
    make.served(200, 2_000_000)
    make.served(409, 1_000_000)
    make.served(None, 0)  # its caller had given up: nothing answered
    get.served(503, 500_000)

    ping = ServicePing.from_dict(service.ping())
    assert (ping.name, ping.id, ping.metadata) == ("probe", service.id, {"started_ms": "1700000000000"})
    assert service.ping()["type"] == "io.nats.micro.v1.ping_response"
    info = ServiceInfo.from_dict(service.info())
    assert [(e.name, e.subject, e.queue_group) for e in info.endpoints] == [
        ("thing-make", "svc.probe.thing.make", "svc-probe"), ("thing-get", "svc.probe.thing.get", "svc-probe")]
    stats = ServiceStats.from_dict(service.stats())
    by_name = {e.name: e for e in stats.endpoints}
    assert (by_name["thing-make"].num_requests, by_name["thing-make"].num_errors) == (3, 1)
    assert by_name["thing-make"].processing_time == 3_000_000
    assert by_name["thing-make"].average_processing_time == 1_000_000
    assert (by_name["thing-get"].num_errors, by_name["thing-get"].last_error) == (1, "503")
