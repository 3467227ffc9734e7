"""A webhook receiver for Atelier: verify each delivery's Standard Webhooks signature and print
its CloudEvent. It needs nothing from Atelier's code: aiohttp and `standardwebhooks`.

    python examples/webhook_receiver.py --port 9000 --secret whsec_...   # or WEBHOOK_SECRET=whsec_...

Register it first (`POST /v1/webhooks` {"url": "http://127.0.0.1:9000/", "event_types": [...]},
http and loopback allowed by the local stack only) and give it the `secret` of the answer.

Each verified event is printed as one JSON line on stdout and answered 204. A request whose
signature does not verify (or is older than 5 minutes) is answered 400 and reported on stderr.
Deliveries are at least once: the `webhook-id` is the same on every retry of one event, so one seen
before is acknowledged again and not printed twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import OrderedDict

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SEEN_MAX = 10_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET", ""), help="the endpoint's whsec_ secret")
    parser.add_argument("--max", type=int, default=0, help="exit after this many events (0: run until ^C)")
    return parser.parse_args(argv)


def make_app(secret: str, done: asyncio.Event, max_events: int) -> web.Application:
    verifier = Webhook(secret)
    seen: OrderedDict[str, None] = OrderedDict()
    printed = 0

    async def receive(request: web.Request) -> web.Response:
        nonlocal printed
        body = await request.read()
        try:
            event = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            print(json.dumps({"rejected": str(exc)}), file=sys.stderr, flush=True)
            return web.Response(status=400, text="bad signature")
        webhook_id = request.headers["webhook-id"]
        if webhook_id in seen:
            return web.Response(status=204)  # a retry of one already handled
        seen[webhook_id] = None
        if len(seen) > SEEN_MAX:
            seen.popitem(last=False)
        print(json.dumps({"webhook_id": webhook_id, "event": event}), flush=True)
        printed += 1
        if max_events and printed >= max_events:
            done.set()
        return web.Response(status=204)

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/{tail:.*}", receive)
    return app


async def run(args: argparse.Namespace) -> int:
    if not args.secret.startswith("whsec_"):
        print("give the endpoint's secret (whsec_...) with --secret or WEBHOOK_SECRET", file=sys.stderr)
        return 2
    done = asyncio.Event()
    runner = web.AppRunner(make_app(args.secret, done, args.max), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    print(json.dumps({"ready": True, "url": f"http://{args.host}:{args.port}/"}), file=sys.stderr, flush=True)
    try:
        await done.wait()
    finally:
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(run(parse_args())))
    except KeyboardInterrupt:
        sys.exit(0)
