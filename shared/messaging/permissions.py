"""Who may do what on the message bus: one declaration per NATS identity, rendered into the
nats-server `authorization` block by the local stack (deploy/local/nats_auth.py) and, with
passwords read from the environment, into the Kubernetes NATS config (deploy/k8s, checked by
tests/unit/shared/test_nats_permissions.py).

Every service and the gateway connects as its own user. What a user may do is an allow-list:
- publish its own domain's event subjects (`community.>` for community, plus the job subjects it
  enqueues) — nobody can publish into another domain's stream;
- call exactly the RPC subjects (`svc.<service>.<op>`) it uses; the gateway, the public edge, may
  call every backend operation except the internal ones listed in `INTERNAL_RPCS`;
- serve its own RPC subjects (`svc.<name>.>`, the `$SRV` discovery subjects) and answer them
  (`allow_responses`); nobody else can subscribe to them, so `svc.community.auth.*` (passwords,
  tokens) is read by community only;
- receive replies only on its own inbox prefix (`_INBOX_<name>`, see `inbox_prefix`), so nobody
  reads another identity's replies;
- for each of its durable consumers: create/bind it, fetch from it, ack it (and, for consumers
  with a dead-letter path, read and delete the dead message of that stream);
- the gateway: its live tails and replays of the event streams and its KV bucket.
Stream management (`$JS.API.STREAM.CREATE/UPDATE/DELETE` of the platform's streams) belongs to
the `admin` identity only: the local launcher and, in Kubernetes, community's `--migrate-only`
init container create and update the streams with it; services start with
`ATELIER_NATS_MANAGE_STREAMS=false`.

Because only these peers can publish on `svc.>`, an RPC's `Atelier-Actor` header is asserted by
the gateway (from a verified token) or by a service acting for the user that called it, never by
an outsider: callees may trust it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shared.messaging.streams import EVENT_STREAMS, JOBS_STREAM

ADMIN = "admin"
INBOX_PREFIX = "_INBOX_"
JS_API = "$JS.API"
# Operations that only services call on each other, never the gateway on a user's behalf.
INTERNAL_RPCS = (
    "svc.community.works.training_set",
    "svc.community.works.using_asset",
    "svc.assets.store",
    "svc.assets.store_generated",
    "svc.assets.describe",
    "svc.assets.read_urls",
    "svc.inference.ratings.top",
    "svc.market.reservations.create",
    "svc.market.reservations.release",
    "svc.trainer.models.seed_suggestions",
)
BACKENDS = ("community", "assets", "trainer", "inference", "webhooks", "market")
LIVE_STREAMS = ("COMMUNITY", "INFERENCE", "TRAINER")  # the gateway's WebSocket tails
IDEMPOTENCY_BUCKET = "idempotency"  # the gateway's default `ATELIER_IDEMPOTENCY_BUCKET`
QUOTA_BUCKET = "quotas"  # the gateway's default `ATELIER_QUOTA_BUCKET`


@dataclass(frozen=True)
class Consumer:
    stream: str
    durable: str
    dead_letter: bool = False  # reads the MAX_DELIVERIES advisory and removes the dead message


@dataclass(frozen=True)
class Identity:
    name: str
    serves: bool = True  # a micro service named `name` on `svc.<name>.>`
    publishes: tuple[str, ...] = ()  # event and job subjects (JetStream publishes)
    calls: tuple[str, ...] = ()  # RPC subjects it requests
    denied_calls: tuple[str, ...] = ()  # carved out of a wildcard in `calls`
    consumers: tuple[Consumer, ...] = ()
    extra_publish: tuple[str, ...] = ()
    extra_subscribe: tuple[str, ...] = ()
    everything: bool = False  # the admin identity: streams, tools, tests
    notes: str = field(default="", compare=False)


def _gateway() -> Identity:
    live_pub = [f"{JS_API}.STREAM.INFO.{s}" for s in LIVE_STREAMS]
    for s in LIVE_STREAMS:  # ordered tails (unnamed consumers) and named replay consumers
        live_pub += [f"{JS_API}.CONSUMER.CREATE.{s}", f"{JS_API}.CONSUMER.CREATE.{s}.>",
                     f"{JS_API}.CONSUMER.INFO.{s}.*", f"{JS_API}.CONSUMER.DELETE.{s}.*",
                     f"{JS_API}.CONSUMER.MSG.NEXT.{s}.*", f"$JS.FC.{s}.>"]
    kv_pub = []
    for bucket in (IDEMPOTENCY_BUCKET, QUOTA_BUCKET):
        kv = f"KV_{bucket}"
        kv_pub += [f"$KV.{bucket}.>", f"{JS_API}.STREAM.INFO.{kv}", f"{JS_API}.STREAM.CREATE.{kv}",
                   f"{JS_API}.DIRECT.GET.{kv}", f"{JS_API}.DIRECT.GET.{kv}.>", f"{JS_API}.STREAM.MSG.GET.{kv}"]
    return Identity(
        "gateway", serves=False,
        calls=tuple(f"svc.{s}.>" for s in BACKENDS), denied_calls=INTERNAL_RPCS,
        extra_publish=(*(f"$SRV.PING.{s}" for s in BACKENDS), *live_pub, *kv_pub),
    )


IDENTITIES: tuple[Identity, ...] = (
    Identity(ADMIN, serves=False, everything=True),
    _gateway(),
    Identity("community", publishes=("community.>",),
             calls=("svc.assets.describe", "svc.trainer.models.seed_suggestions")),
    Identity("assets", publishes=("assets.>",), calls=("svc.community.works.using_asset",),
             consumers=(Consumer("COMMUNITY", "assets-work-visibility"),
                        Consumer("COMMUNITY", "assets-owner-deleted"),
                        Consumer("TRAINER", "assets-model-samples"))),
    Identity("trainer", publishes=("trainer.>", "jobs.train"),
             calls=("svc.community.works.training_set", "svc.assets.store", "svc.assets.read_urls",
                    "svc.inference.ratings.top", "svc.community.users.get", "svc.community.works.list"),
             consumers=(Consumer(JOBS_STREAM, "trainer-train", dead_letter=True),
                        Consumer("COMMUNITY", "trainer-consent"), Consumer("INFERENCE", "trainer-usage"))),
    Identity("inference", publishes=("inference.>", "jobs.generate"),
             calls=("svc.community.works.create", "svc.assets.store_generated", "svc.trainer.models.get",
                    "svc.market.reservations.create", "svc.market.reservations.release"),
             # inference-models marks a version that never loaded failed on its MAX_DELIVERIES advisory.
             consumers=(Consumer("TRAINER", "inference-models", dead_letter=True),
                        Consumer("TRAINER", "inference-training-ended"),
                        Consumer(JOBS_STREAM, "inference-generate", dead_letter=True),
                        Consumer("COMMUNITY", "inference-likes"))),
    # One durable per event stream (services/webhooks/events.py), shared by every replica.
    Identity("webhooks", publishes=("webhooks.>",),
             consumers=tuple(Consumer(s, f"webhooks-{s.lower()}") for s in EVENT_STREAMS)),
    Identity("market", publishes=("market.>",), calls=("svc.trainer.models.get", "svc.community.works.get",
                                                      "svc.inference.generations.get"),
             consumers=(Consumer("INFERENCE", "market-generations"),)),
)
NAMES = tuple(i.name for i in IDENTITIES)


def identity(name: str) -> Identity:
    for candidate in IDENTITIES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no NATS identity named {name!r} (known: {', '.join(NAMES)})")


def inbox_prefix(name: str) -> str:
    """The reply-subject prefix of `name`'s connection; only `name` may subscribe below it."""
    return f"{INBOX_PREFIX}{name}"


def _consumer_publish(c: Consumer) -> list[str]:
    api = f"{JS_API}.CONSUMER"
    subjects = [f"{api}.CREATE.{c.stream}.{c.durable}", f"{api}.CREATE.{c.stream}.{c.durable}.>",
                f"{api}.DURABLE.CREATE.{c.stream}.{c.durable}", f"{api}.INFO.{c.stream}.{c.durable}",
                f"{api}.MSG.NEXT.{c.stream}.{c.durable}", f"$JS.ACK.{c.stream}.{c.durable}.>"]
    if c.dead_letter:  # reads the dead message; deletes it from a work queue (an event stream keeps it)
        subjects.append(f"{JS_API}.STREAM.MSG.GET.{c.stream}")
        if c.stream not in EVENT_STREAMS:
            subjects.append(f"{JS_API}.STREAM.MSG.DELETE.{c.stream}")
    return subjects


def permissions(ident: Identity) -> dict[str, object]:
    """The nats-server `permissions` map of one identity."""
    if ident.everything:
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    publish = [*ident.publishes, *ident.calls, *ident.extra_publish]
    subscribe = [f"{inbox_prefix(ident.name)}.>", *ident.extra_subscribe]
    for consumer in ident.consumers:
        publish += _consumer_publish(consumer)
        if consumer.dead_letter:
            subscribe.append(f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{consumer.stream}.{consumer.durable}")
    if ident.serves:
        subscribe += [f"svc.{ident.name}.>", "$SRV.PING", "$SRV.INFO", "$SRV.STATS",
                      f"$SRV.*.{ident.name}", f"$SRV.*.{ident.name}.*"]
    # Belt and braces: should an allow-list ever be widened, others' inboxes, RPC subjects and the
    # stream-management API stay closed.
    others = [n for n in NAMES if n not in (ident.name, ADMIN)]
    sub_deny = ["_INBOX.>", *(f"{inbox_prefix(n)}.>" for n in others if n != ident.name),
                *(f"svc.{n}.>" for n in others)]
    pub_deny = [*ident.denied_calls, *(f"{JS_API}.STREAM.{op}.*" for op in ("UPDATE", "DELETE", "PURGE")),
                *(f"{JS_API}.STREAM.CREATE.{s}" for s in (*EVENT_STREAMS, JOBS_STREAM))]
    return {
        "publish": {"allow": _unique(publish), "deny": _unique(pub_deny)},
        "subscribe": {"allow": _unique(subscribe), "deny": _unique(sub_deny)},
        "allow_responses": ident.serves,
    }


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def authorization_block(password_of: Callable[[str], str]) -> str:
    """The nats-server config `authorization { users: [...] }` for every identity.

    `password_of(name)` returns the password *as config text*: a quoted literal (local stack, see
    `quoted`) or an unquoted `$VARIABLE` that nats-server resolves from its environment (k8s)."""
    lines = ["authorization {", "  users: ["]
    for ident in IDENTITIES:
        perms = json.dumps(permissions(ident), indent=None, separators=(", ", ": "))
        lines.append(f'    {{user: "{ident.name}", password: {password_of(ident.name)}, permissions: {perms}}}')
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def quoted(passwords: Mapping[str, str]) -> Callable[[str], str]:
    return lambda name: json.dumps(passwords[name])


def env_variable(name: str) -> str:
    """The environment variable the NATS server reads `name`'s password from (Kubernetes)."""
    return f"NATS_{name.upper().replace('-', '_')}_PASSWORD"
