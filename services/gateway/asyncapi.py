"""The AsyncAPI 3.0 document of the platform's events (`GET /v1/asyncapi.json`), generated from the
event registry: one channel per NATS subject with its payload schema inside the CloudEvents
envelope and the JetStream stream that keeps it, the WebSocket channel `/v1/events` and the
webhook delivery (Standard Webhooks headers), plus a plain HTML rendering for `/docs/events`.
"""

from __future__ import annotations

import html
from typing import Any

from services.gateway.live.cursor import LIVE_STREAMS
from shared.contracts.events.audience import NOTIFY_AUTHOR, SUGGESTION, may_be_seen
from shared.contracts.events.envelope import TYPE_PREFIX, CloudEvent
from shared.contracts.events.registry import payload_model, registered_subjects
from shared.contracts.webhooks import subscribable_types
from shared.messaging.streams import EVENT_STREAMS, JOBS_STREAM

SCHEMA_REF = "#/components/schemas/{model}"
WEBHOOK_HEADERS = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {"type": "string", "description": "the delivery's id: the same on every retry of one "
                       "event to one endpoint (deduplicate on it)"},
        "webhook-timestamp": {"type": "string", "description": "Unix seconds when this attempt was signed"},
        "webhook-signature": {"type": "string", "description": "space-separated `v1,<base64 HMAC-SHA256>` over "
                              "`id.timestamp.body` with the endpoint's secret; during a rotation's grace period "
                              "a second signature made with the previous secret"},
        "content-type": {"type": "string", "const": "application/cloudevents+json; charset=utf-8"},
    },
}
WS_CONTROL = {
    "subscribe": ("Client frame: choose channels once, optionally resume", {
        "type": "object", "required": ["subscribe"], "properties": {
            "subscribe": {"type": "array", "items": {"type": "string", "enum": ["me", "feed", "public"]}},
            "since": {"type": "string", "description": "the `sequence` of the last event received"}}}),
    "ping": ("Client frame: answered with a pong carrying the same value", {
        "type": "object", "required": ["ping"], "properties": {"ping": {}}}),
    "subscribed": ("Server frame: the replay is over, live events follow", {
        "type": "object", "required": ["subscribed", "sequence"], "properties": {
            "subscribed": {"type": "array", "items": {"type": "string"}}, "sequence": {"type": "string"}}}),
    "notice": ("Server frame: something the client should know (events expired or skipped)", {
        "type": "object", "required": ["notice"], "properties": {"notice": {"type": "object"}}}),
    "error": ("Server frame: a bad client frame (the connection stays open)", {
        "type": "object", "required": ["error"], "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}}}}}),
}


def stream_of(subject: str) -> str:
    for name, pattern in EVENT_STREAMS.items():
        if subject.startswith(pattern.removesuffix(">")):
            return name
    return JOBS_STREAM


def audience_text(subject: str) -> str:
    """Who receives it over the WebSocket or a webhook (shared/contracts/events/audience.py)."""
    if not may_be_seen(subject):
        return "internal: delivered to no client"
    if subject == "community.work.published":
        return "seen by its author, and by everyone when the work is public"
    if subject in NOTIFY_AUTHOR:
        return "seen by the work's author (not for their own likes and comments)"
    if subject == "community.user.followed":
        return "seen by the user followed"
    if subject == SUGGESTION:
        return "seen by the user it is for (`user_id`) only"
    return "seen by its owner (`owner_id`) only"


def key(subject: str) -> str:
    return subject.replace(".", "-")


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def add(self, model: Any, name: str | None = None) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=SCHEMA_REF, mode="serialization")
        for sub_name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(sub_name, sub)
        name = name or schema.get("title", model.__name__)
        self.components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}


def _envelope() -> dict[str, Any]:
    schema = CloudEvent.model_json_schema(mode="serialization")
    schema.pop("$defs", None)
    schema["description"] = ("CloudEvents 1.0, structured JSON mode. Extensions: `correlationid` (the request "
                             "that started it all), `causationid` (what directly caused it); on the WebSocket "
                             "also `sequence` (resume cursor) and `channel`.")
    return schema


def document() -> dict[str, Any]:
    schemas = _Schemas()
    schemas.components["CloudEvent"] = _envelope()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    webhook_types = set(subscribable_types())
    for subject in registered_subjects():
        model = payload_model(subject)
        data = schemas.add(model)
        stream = stream_of(subject)
        name = key(subject)
        schemas.components[f"{name}-event"] = {
            "allOf": [{"$ref": "#/components/schemas/CloudEvent"}, {
                "type": "object", "properties": {"type": {"type": "string", "const": TYPE_PREFIX + subject},
                                                 "data": data}}]}
        audience = audience_text(subject)
        messages[name] = {
            "name": subject, "title": subject, "summary": model.description.split("\n")[0] or subject,
            "description": f"{model.description}\n\nStream `{stream}`; {audience}.",
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{name}-event"},
            "tags": [{"name": stream}],
        }
        channels[name] = {
            "address": subject, "title": subject,
            "description": f"NATS subject `{subject}`, kept by the JetStream stream `{stream}` "
                           + ("(7 days, replayable; published with `Nats-Msg-Id` = event id)."
                              if stream != JOBS_STREAM else "(a work queue for the platform's own workers)."),
            "servers": [{"$ref": "#/servers/nats"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "tags": [{"name": stream}],
        }
        operations[f"publish-{name}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{name}"}, "summary": f"The platform publishes {subject}",
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
        }
    live = [s for s in registered_subjects() if may_be_seen(s) and stream_of(s) in LIVE_STREAMS]
    for frame, (summary, payload) in WS_CONTROL.items():
        messages[f"ws-{frame}"] = {"name": frame, "summary": summary, "contentType": "application/json",
                                   "payload": payload}
    channels["live-events"] = {
        "address": "/v1/events", "title": "Live events (WebSocket)",
        "description": "WebSocket (subprotocol `atelier.v1`, token as Bearer header, `token` query parameter or "
                       "`bearer.<token>` subprotocol): the CloudEvents the caller may see, on channels `me`, "
                       "`feed` and `public`, resumable with `since`.",
        "servers": [{"$ref": "#/servers/gateway"}],
        "messages": {**{key(s): {"$ref": f"#/components/messages/{key(s)}"} for s in live},
                     **{f"ws-{f}": {"$ref": f"#/components/messages/ws-{f}"} for f in WS_CONTROL}},
        "bindings": {"ws": {"method": "GET", "query": {"type": "object", "properties": {
            "token": {"type": "string", "description": "the bearer token, for clients that cannot set headers"}}}}},
    }
    operations["live-send"] = {
        "action": "send", "channel": {"$ref": "#/channels/live-events"},
        "summary": "Events the caller may see, and control frames",
        "messages": [{"$ref": f"#/channels/live-events/messages/{m}"}
                     for m in [*(key(s) for s in live), "ws-subscribed", "ws-notice", "ws-error"]],
    }
    operations["live-receive"] = {
        "action": "receive", "channel": {"$ref": "#/channels/live-events"}, "summary": "Client frames",
        "messages": [{"$ref": "#/channels/live-events/messages/ws-subscribe"},
                     {"$ref": "#/channels/live-events/messages/ws-ping"}],
    }
    hooks = [*sorted(webhook_types), "webhooks.endpoint.test"]
    for subject in hooks:
        messages[f"webhook-{key(subject)}"] = {
            "name": f"webhook {subject}", "summary": f"{subject}, POSTed to a webhook endpoint",
            "contentType": "application/cloudevents+json", "headers": {"$ref": "#/components/schemas/WebhookHeaders"},
            "payload": {"$ref": f"#/components/schemas/{key(subject)}-event"},
        }
    schemas.components["WebhookHeaders"] = WEBHOOK_HEADERS
    channels["webhook-delivery"] = {
        "address": "{endpointUrl}", "title": "Webhook delivery",
        "description": "An HTTP POST to each endpoint registered with `POST /v1/webhooks` whose event types include "
                       "the event and whose owner may see it (the WebSocket's rule). Standard Webhooks signatures; "
                       "any 2xx acknowledges; otherwise retried with exponential backoff and jitter for about a day, "
                       "then the endpoint is disabled and `webhooks.endpoint.disabled` published. At least once, "
                       "not ordered; redirects are not followed.",
        "parameters": {"endpointUrl": {"description": "the URL of the registered endpoint"}},
        "messages": {f"webhook-{key(s)}": {"$ref": f"#/components/messages/webhook-{key(s)}"} for s in hooks},
        "bindings": {"http": {}},
    }
    operations["webhook-deliver"] = {
        "action": "send", "channel": {"$ref": "#/channels/webhook-delivery"},
        "summary": "Deliver an event to a webhook endpoint",
        "messages": [{"$ref": f"#/channels/webhook-delivery/messages/webhook-{key(s)}"} for s in hooks],
        "bindings": {"http": {"method": "POST"}},
    }
    streams = ", ".join(f"`{n}` (`{p}`)" for n, p in EVENT_STREAMS.items())
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Atelier events", "version": "1.0.0",
                 "description": "Every event the platform publishes, as CloudEvents 1.0 (structured JSON). Event "
                                f"streams (JetStream, 7 days): {streams}; jobs on the work-queue stream "
                                f"`{JOBS_STREAM}`. Clients receive them over the WebSocket `/v1/events` or as "
                                "webhooks; services inside the cluster subscribe on NATS."},
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "nats": {"host": "nats:4222", "protocol": "nats", "description": "the cluster's NATS with JetStream "
                     "(inside the cluster only; every identity has its own permissions)"},
            "gateway": {"host": "localhost:8080", "protocol": "ws", "description": "the public gateway "
                        "(wss in production)"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas.components, "messages": messages},
    }


def render_html(doc: dict[str, Any]) -> str:
    """A plain, offline page listing every channel and message of the document."""
    esc = html.escape
    rows = []
    for channel_id, channel in doc["channels"].items():
        names = ", ".join(f"<code>{esc(m)}</code>" for m in channel["messages"])
        rows.append(f"<section id=\"{esc(channel_id)}\"><h2><code>{esc(channel['address'])}</code></h2>"
                    f"<p>{esc(channel.get('description', ''))}</p><p>Messages: {names}</p></section>")
    messages = []
    for message_id, message in doc["components"]["messages"].items():
        fields = "".join(f"<li><code>{esc(n)}</code> {esc(t)}</li>" for n, t in _data_fields(doc, message))
        messages.append(f"<dt id=\"msg-{esc(message_id)}\"><code>{esc(message.get('name', message_id))}</code></dt>"
                        f"<dd>{esc(message.get('description') or message.get('summary', ''))}"
                        f"{'<ul>' + fields + '</ul>' if fields else ''}</dd>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Atelier events</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/app/docs.css\"></head><body>"
            "<header class=\"bar\"><a class=\"brand\" href=\"/\">Atelier</a><span>Events reference</span>"
            "<a href=\"/docs\">REST reference</a><a href=\"/v1/asyncapi.json\">asyncapi.json</a></header><main>"
            f"<h1>{esc(doc['info']['title'])} (AsyncAPI {esc(doc['asyncapi'])})</h1>"
            f"<p>{esc(doc['info']['description'])}</p>"
            "<p>The machine-readable document: <a href=\"/v1/asyncapi.json\">/v1/asyncapi.json</a>; "
            "the REST reference: <a href=\"/docs\">/docs</a>.</p>"
            f"<h2>Channels</h2>{''.join(rows)}<h2>Messages</h2><dl>{''.join(messages)}</dl>"
            "</main></body></html>")


def _schema(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    name = str(ref.get("$ref", "")).rsplit("/", 1)[-1]
    found = doc["components"]["schemas"].get(name, ref)
    return found if isinstance(found, dict) else {}


def _data_fields(doc: dict[str, Any], message: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, type) of an event message's `data`, for the page."""
    event = _schema(doc, message.get("payload", {}))
    parts = event.get("allOf") or []
    data_ref = parts[1]["properties"].get("data", {}) if len(parts) > 1 else {}
    data = _schema(doc, data_ref) if data_ref else {}
    required = set(data.get("required", []))
    out = []
    for name, prop in data.get("properties", {}).items():
        kind = prop.get("type") or ("|".join(str(a.get("type", "object")) for a in prop.get("anyOf", [])) or "object")
        out.append((name, f"{kind}{'' if name in required else ' (optional)'}"))
    return out
