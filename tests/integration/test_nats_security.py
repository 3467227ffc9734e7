"""The message bus is closed: against a real nats-server started with the local stack's generated
config (deploy/local/nats.py), each identity can do what its service needs and nothing else.

Every refusal is checked next to a control that the same action succeeds for the identity that
owns it, so a test cannot pass because nothing at all got through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.js.api import StreamConfig

from deploy.local import nats_auth, procs
from deploy.local.nats import NatsServer, start_nats
from shared.messaging.permissions import inbox_prefix
from shared.messaging.streams import ensure_streams

QUIET_S = 0.5  # how long a refused subscription is watched for messages


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    started = start_nats(tmp_path_factory.mktemp("nats-security"))
    try:
        yield started
    finally:
        assert not procs.stop_all([started.record], grace_s=5)


class Peer:
    """A connection as one identity, with the errors the server reported to it."""

    def __init__(self, nc: NATS, errors: list[str]) -> None:
        self.nc = nc
        self.errors = errors

    def violations(self) -> list[str]:
        return [e for e in self.errors if "permissions violation" in e.lower()]


@pytest.fixture
async def peers(server: NatsServer) -> AsyncIterator[dict[str, Peer]]:
    passwords = nats_auth.read_credentials(server.credentials_file)
    opened: dict[str, Peer] = {}
    for name, password in passwords.items():
        errors: list[str] = []

        async def on_error(exc: Exception, errors: list[str] = errors) -> None:
            errors.append(str(exc))

        nc = await nats.connect(server.server_url, user=name, password=password, name=f"test-{name}",
                                inbox_prefix=inbox_prefix(name), error_cb=on_error, allow_reconnect=False,
                                connect_timeout=5)
        opened[name] = Peer(nc, errors)
    await ensure_streams(opened["admin"].nc.jetstream(timeout=5.0))
    try:
        yield opened
    finally:
        for peer in opened.values():
            with contextlib.suppress(Exception):
                await peer.nc.close()


async def _refused(url: str, **credentials: str) -> list[str]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    with pytest.raises(Exception):  # noqa: B017 - nats-py raises its own error types per version
        nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3,
                                error_cb=on_error, **credentials)
        await nc.close()
    return errors


async def test_anonymous_and_wrong_password_clients_cannot_connect(server: NatsServer) -> None:
    assert any("authorization violation" in e.lower() for e in await _refused(server.server_url))
    assert any("authorization violation" in e.lower()
               for e in await _refused(server.server_url, user="community", password="guessed"))
    # Control: the admin URL of stack.json (what tests and tools use) does connect.
    nc = await nats.connect(server.url, allow_reconnect=False, connect_timeout=3)
    assert nc.is_connected
    await nc.close()


async def _received(nc: NATS, subject: str) -> list[Msg]:
    got: list[Msg] = []

    async def keep(msg: Msg) -> None:
        got.append(msg)

    await nc.subscribe(subject, cb=keep)
    await nc.flush()
    return got


async def test_only_community_reads_login_requests_and_only_the_caller_its_replies(peers: dict[str, Peer]) -> None:
    community, gateway = peers["community"].nc, peers["gateway"].nc
    spies = {name: await _received(peers[name].nc, subject)
             for name, subject in (("assets", "svc.community.auth.*"), ("trainer", "svc.>"),
                                   ("inference", f"{inbox_prefix('gateway')}.>"), ("assets", "_INBOX.>"))}

    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"token": "issued-token"}')

    await community.subscribe("svc.community.auth.login", queue="svc-community", cb=answer)
    await community.flush()
    reply = await gateway.request("svc.community.auth.login", b'{"password": "secret"}', timeout=2)
    assert reply.data == b'{"token": "issued-token"}'  # control: the real caller and callee talk
    await asyncio.sleep(QUIET_S)
    assert {name: len(got) for name, got in spies.items()} == dict.fromkeys(spies, 0)
    for name in ("assets", "trainer", "inference"):
        assert peers[name].violations(), f"{name}'s spying subscription was not refused"


async def _stored(peers: dict[str, Peer], stream: str) -> int:
    info = await peers["admin"].nc.jetstream(timeout=5.0).stream_info(stream)
    return int(info.state.messages)


@pytest.mark.parametrize(("who", "subject", "stream"), [
    ("assets", "community.work.published", "COMMUNITY"),
    ("gateway", "community.user.signed_up", "COMMUNITY"),
    ("community", "jobs.generate", "JOBS"),
    ("inference", "trainer.model.trained", "TRAINER"),
    ("inference", "market.transaction.recorded", "MARKET"),
    ("market", "inference.generation.completed", "INFERENCE"),
])
async def test_a_service_cannot_publish_into_another_domains_stream(
        peers: dict[str, Peer], who: str, subject: str, stream: str) -> None:
    before = await _stored(peers, stream)
    with pytest.raises(Exception):  # noqa: B017 - the publish is dropped: no ack ever comes
        await peers[who].nc.jetstream(timeout=1.0).publish(subject, b"{}")
    assert await _stored(peers, stream) == before
    assert peers[who].violations()
    owner = {"COMMUNITY": "community", "JOBS": "inference", "TRAINER": "trainer", "MARKET": "market",
             "INFERENCE": "inference"}[stream]
    await peers[owner].nc.jetstream(timeout=5.0).publish(subject, b"{}")  # control: the owner can
    assert await _stored(peers, stream) == before + 1


async def test_services_cannot_manage_streams(peers: dict[str, Peer]) -> None:
    admin_js = peers["admin"].nc.jetstream(timeout=5.0)
    kept = (await admin_js.stream_info("COMMUNITY")).config
    for name in ("gateway", "community", "assets", "trainer", "inference", "market"):
        js = peers[name].nc.jetstream(timeout=0.3)  # a refusal is also a reported violation, checked below
        attempts = [js.delete_stream("COMMUNITY"), js.purge_stream("JOBS"),
                    js.add_stream(StreamConfig(name=f"SPY_{name.upper()}", subjects=["svc.>"])),
                    js.update_stream(StreamConfig(name="COMMUNITY", subjects=[">"]))]
        for attempt in attempts:
            with pytest.raises(Exception):  # noqa: B017 - denied requests go unanswered
                await attempt
        assert peers[name].violations()
    assert (await admin_js.stream_info("COMMUNITY")).config.subjects == kept.subjects
    names = {s.config.name for s in await admin_js.streams_info()}
    assert names == {"ASSETS", "COMMUNITY", "INFERENCE", "JOBS", "MARKET", "TRAINER", "WEBHOOKS"}


@pytest.mark.parametrize(("who", "subject"), [
    ("assets", "svc.community.auth.login"),  # a consumer of community events, not a login client
    ("inference", "svc.community.users.update_me"),
    ("gateway", "svc.assets.store"),  # internal: services store generated files, users upload
    ("community", "svc.trainer.models.create"),
    ("gateway", "svc.market.reservations.create"),  # internal: only inference reserves a generation's credits
    ("trainer", "svc.market.reservations.release"),
    ("market", "svc.inference.generations.create"),
])
async def test_a_peer_cannot_call_an_rpc_it_does_not_use(peers: dict[str, Peer], who: str, subject: str) -> None:
    service = subject.split(".")[1]
    served = await _received(peers[service].nc, f"svc.{service}.>")
    with pytest.raises(Exception):  # noqa: B017 - the request is dropped before any responder
        await peers[who].nc.request(subject, b"{}", timeout=1.0, headers={"Atelier-Actor": "someone-else"})
    assert served == []
    assert peers[who].violations()


async def _request_when_served(nc: Any, subject: str) -> Msg:
    """The allowed call, retried briefly on "no responders": seen once in a full-suite run on a machine
    loaded far beyond its cores, although the responder had subscribed and flushed (cause not found)."""
    for _ in range(20):
        try:
            return await nc.request(subject, b"{}", timeout=2)
        except NoRespondersError:
            await asyncio.sleep(0.25)
    return await nc.request(subject, b"{}", timeout=2)


async def test_services_call_what_they_use_and_consume_their_own_durables(peers: dict[str, Peer]) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(b"{}")

    await peers["community"].nc.subscribe("svc.community.works.using_asset", cb=answer)
    await peers["community"].nc.flush()
    assert (await _request_when_served(peers["assets"].nc, "svc.community.works.using_asset")).data == b"{}"
    js = peers["assets"].nc.jetstream(timeout=5.0)
    await peers["community"].nc.jetstream(timeout=5.0).publish("community.work.updated", b"{}")
    sub = await js.pull_subscribe("community.work.>", durable="assets-work-visibility", stream="COMMUNITY")
    msgs = await sub.fetch(1, timeout=5.0)
    await msgs[0].ack_sync(timeout=5.0)
    assert not peers["assets"].violations()
    with pytest.raises(Exception):  # noqa: B017 - another durable on JOBS is not assets'
        await js.pull_subscribe("jobs.>", durable="assets-spy", stream="JOBS")


def test_the_server_config_holds_no_anonymous_user(server: NatsServer) -> None:
    config = Path(server.credentials_file).parent.joinpath("nats.conf").read_text()
    assert "no_auth_user" not in config
    assert oct(Path(server.credentials_file).stat().st_mode & 0o777) == "0o600"


async def test_the_launcher_starts_each_service_as_its_own_identity(platform: dict[str, str],
                                                                    endpoints: object) -> None:
    monitor = endpoints.nats_monitor_url  # type: ignore[attr-defined]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(f"{monitor}/connz", params={"auth": "true", "limit": "1024"}) as resp:
            connz = await resp.json()
    users = {c.get("name"): c.get("authorized_user") for c in connz["connections"]}
    services = list(platform)  # every service the session started (each one ready, so allowed enough)
    assert services
    assert {name: users.get(f"atelier-{name}") for name in services} == {name: name for name in services}
    assert all(c.get("authorized_user") for c in connz["connections"]), "an anonymous connection got in"


async def test_migrate_only_creates_the_streams_as_admin_and_a_service_cannot(tmp_path: Path) -> None:
    from shared.contexts import migrate_streams
    from shared.settings import ServiceSettings

    fresh = start_nats(tmp_path)
    try:
        passwords = nats_auth.read_credentials(fresh.credentials_file)

        def as_user(name: str) -> ServiceSettings:
            return ServiceSettings(nats_url=fresh.server_url, nats_user=name, nats_password=passwords[name],
                                   nats_migrate_streams=True, publish_timeout_s=1.0)  # type: ignore[arg-type]

        with pytest.raises(Exception):  # noqa: B017 - the stream-management request is refused
            await asyncio.wait_for(migrate_streams(as_user("community")), 10)
        nc = await nats.connect(fresh.url, allow_reconnect=False, connect_timeout=3)
        try:
            js = nc.jetstream(timeout=5.0)
            assert [s.config.name for s in await js.streams_info()] == []
            await migrate_streams(as_user("admin"))
            names = {s.config.name for s in await js.streams_info()}
            assert names == {"ASSETS", "COMMUNITY", "INFERENCE", "JOBS", "MARKET", "TRAINER", "WEBHOOKS"}
        finally:
            await nc.close()
    finally:
        assert not procs.stop_all([fresh.record], grace_s=5)
