"""Standard Webhooks headers, signed with the `standardwebhooks` library: HMAC-SHA256 over
`id.timestamp.body`; during a rotation's grace period the previous secret signs too and both
signatures travel in `webhook-signature`, space-separated (receivers accept either)."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"  # CloudEvents structured mode
USER_AGENT = "Atelier-Webhooks/0.1"


def signed_headers(msg_id: str, body: str, secrets: list[str], when: datetime | None = None) -> dict[str, str]:
    when = (when or datetime.now(UTC)).astimezone(UTC)
    signatures = [Webhook(secret).sign(msg_id, when, body) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
    }
