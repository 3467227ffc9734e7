"""Stopping a NATS micro service without dropping the requests it already holds.

nats-py's `Service.stop()` *unsubscribes* its endpoints: the requests the server had already
delivered to this client, waiting in the subscription's queue (RpcServer takes one message at a
time per endpoint and holds the rest back while its slots are taken), are thrown away, and their
callers wait out their whole deadline (a 504 at the gateway) although another replica was there.
Draining instead tells the server to send no more (new requests go to the other replicas at once),
makes a round trip so that nothing is still on the way, and then handles every message received.
"""

from __future__ import annotations

import asyncio

from nats.micro.service import Service

from shared.logging import get_logger

log = get_logger(__name__)


async def drain_service(service: Service, timeout_s: float) -> None:
    """Drain every endpoint of `service` (up to `timeout_s`; what is left then is dropped, with a
    warning), then stop the service (its ping, info and stats subjects)."""
    endpoints, service._endpoints = list(service._endpoints), []  # stop() must not unsubscribe them
    subscriptions = [ep._subscription for ep in endpoints if ep._subscription is not None]
    for endpoint in endpoints:
        endpoint._subscription = None
    drains = [asyncio.ensure_future(sub.drain()) for sub in subscriptions]
    if drains:
        _, late = await asyncio.wait(drains, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("rpc.stop.drain_timeout", endpoints=len(late), timeout_s=timeout_s)
        for task in drains:  # a connection that closed meanwhile: nothing left to drain
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("rpc.stop.drain_failed", error=repr(task.exception()))
    await service.stop()
