"""Tokens that stop working at once: the revocations each gateway keeps in memory.

Tokens are verified locally (auth.py), so a deleted user's or an old password's token would live
until it expires. Community publishes `community.user.deleted` (refuse every token of the user)
and `community.user.credentials_changed` (refuse tokens issued before `not_before`). Each gateway
process reads them from the COMMUNITY stream: at start it replays every such event still stored
(the stream keeps 7 days, far longer than a token lives) before it serves, then tails the stream.
The check per request is two dictionary look-ups: no database read, no RPC. Whatever holds a token
longer than a request (the live WebSockets, live/ws.py) registers a listener (`on_revoked`), called
with the user's id as each revocation is applied, and closes what `refusal` now refuses.

A token's issue time is its `iat_ms` claim (milliseconds; `iat` * 1000 for tokens without it),
compared with `not_before` from the same clock (community's), so gateway clock skew does not matter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Gauge
from pydantic import ValidationError

from shared.contexts import JS, CleanupCtx
from shared.contracts.events.catalog import UserCredentialsChanged, UserDeleted
from shared.contracts.events.envelope import parse_event
from shared.ids import new_id
from shared.logging import get_logger
from shared.messaging.replay import replay, replay_config

log = get_logger(__name__)
STREAM = "COMMUNITY"
SUBJECTS = (UserDeleted.subject, UserCredentialsChanged.subject)
TAIL_SUBJECT = "community.user.>"
REPLAY_BATCH = 512
REVOKED_USERS = Gauge("atelier_gateway_revoked_users", "Users whose tokens this gateway refuses (deleted or "
                      "password changed)")


class Revocations:
    """Which tokens to refuse: all of a deleted user's, and those issued before a password change."""

    def __init__(self) -> None:
        self.deleted: set[str] = set()
        self.not_before_ms: dict[str, int] = {}
        self.caught_up = False
        self._listeners: list[Callable[[str], None]] = []

    def on_revoked(self, listener: Callable[[str], None]) -> None:
        """Call `listener(user_id)` after each revocation of that user's tokens is applied."""
        self._listeners.append(listener)

    def refusal(self, user_id: str, issued_ms: int) -> str | None:
        """Why a token of `user_id` issued at `issued_ms` is refused, or None when it is not."""
        if user_id in self.deleted:
            return "this account was deleted"
        not_before = self.not_before_ms.get(user_id)
        if not_before is not None and issued_ms < not_before:
            return "the password was changed after this token was issued: sign in again"
        return None

    def apply(self, raw: bytes) -> None:
        """Take one event of the stream into account (anything else, or malformed, is ignored)."""
        try:
            payload = parse_event(raw).payload()
        except (ValidationError, ValueError, KeyError):
            log.warning("gateway.revocations.bad_event")
            return
        if isinstance(payload, UserDeleted):
            self.deleted.add(payload.user_id)
        elif isinstance(payload, UserCredentialsChanged):
            ms = round(payload.not_before.timestamp() * 1000)
            self.not_before_ms[payload.user_id] = max(ms, self.not_before_ms.get(payload.user_id, ms))
        else:
            return
        REVOKED_USERS.set(len(self.deleted) + len(self.not_before_ms))
        for listener in self._listeners:
            try:
                listener(payload.user_id)
            except Exception:  # one listener's bug must not stop revocations being learnt
                log.exception("gateway.revocations.listener_failed")


class RevocationFeed:
    """Fills `Revocations` from the stream: replay what is stored, then tail what comes."""

    def __init__(self, js: JetStreamContext, revocations: Revocations, *, timeout_s: float = 5.0) -> None:
        self._js = js
        self.revocations = revocations
        self._timeout_s = timeout_s
        self._tail: object | None = None

    async def start(self) -> None:
        info = await self._js.stream_info(STREAM)
        end = int(info.state.last_seq or 0)
        # Tail first (from just after the replayed range), so nothing published meanwhile is missed.
        self._tail = await self._js.subscribe(
            TAIL_SUBJECT, stream=STREAM, ordered_consumer=True, cb=self._on_message, idle_heartbeat=5.0,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=end + 1),
        )
        replayed = await self._replay(end) if end else 0
        self.revocations.caught_up = True
        log.info("gateway.revocations.ready", replayed=replayed, revoked_users=len(self.revocations.deleted)
                 + len(self.revocations.not_before_ms))

    async def _on_message(self, msg: Msg) -> None:
        if msg.subject in SUBJECTS:
            self.revocations.apply(msg.data)

    async def _replay(self, end_seq: int) -> int:
        config = replay_config(f"gw-revocations-{new_id().lower()}", deliver_policy=DeliverPolicy.ALL,
                               filter_subjects=list(SUBJECTS))

        async def handle(msg: Msg) -> None:
            self.revocations.apply(msg.data)

        return await replay(self._js, STREAM, config, end_seq, self._timeout_s, handle, batch=REPLAY_BATCH)

    async def stop(self) -> None:
        if self._tail is not None:
            with contextlib.suppress(Exception):
                await self._tail.unsubscribe()  # type: ignore[attr-defined]
            self._tail = None


REVOCATIONS = web.AppKey("revocations", Revocations)


def revocations_ctx() -> CleanupCtx:
    """Replay the stored revocations before the gateway serves (a restarted gateway must not accept
    a deleted user's token), then keep tailing until shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        feed = RevocationFeed(app[JS], app[REVOCATIONS])
        await feed.start()
        try:
            yield
        finally:
            await feed.stop()

    return ctx
