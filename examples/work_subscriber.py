"""An external subscriber: follow every work published on Atelier, straight from JetStream.

It needs nothing from Atelier's code: nats-py, jsonschema and the event's JSON Schema (shipped in
shared/contracts/events/schemas/). A durable pull consumer on the COMMUNITY stream, filtered to
`community.work.published`, remembers what was acknowledged: stop it, start it again, and it
continues after the last event it printed, even if events were published meanwhile.

    python examples/work_subscriber.py --nats-url nats://127.0.0.1:4222
    python examples/work_subscriber.py --durable my-app --deliver-new --max 10

Each valid event is printed as one JSON line on stdout and acknowledged; an event that does not
match the schema is reported on stderr and terminated (never redelivered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import nats
from jsonschema import Draft202012Validator
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

STREAM = "COMMUNITY"
SUBJECT = "community.work.published"
DEFAULT_SCHEMA = Path(__file__).resolve().parents[1] / "shared" / "contracts" / "events" / "schemas" / f"{SUBJECT}.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats-url", default=os.environ.get("ATELIER_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--durable", default="example-work-subscriber", help="consumer name kept by the server")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="the event's JSON Schema")
    parser.add_argument("--deliver-new", action="store_true",
                        help="on first start, skip history and begin with the next event")
    parser.add_argument("--max", type=int, default=0, help="exit after this many events (0: run until ^C)")
    parser.add_argument("--idle-exit", type=float, default=0.0,
                        help="exit after this many seconds without an event (0: never)")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    validator = Draft202012Validator(json.loads(args.schema.read_text()))
    nc = await nats.connect(args.nats_url, connect_timeout=5, name="example-work-subscriber")
    js = nc.jetstream(timeout=5)
    config = ConsumerConfig(
        durable_name=args.durable, filter_subject=SUBJECT, ack_policy=AckPolicy.EXPLICIT, ack_wait=30,
        max_deliver=5, deliver_policy=DeliverPolicy.NEW if args.deliver_new else DeliverPolicy.ALL,
    )
    sub = await js.pull_subscribe(SUBJECT, durable=args.durable, stream=STREAM, config=config)
    print(json.dumps({"ready": True, "durable": args.durable}), file=sys.stderr, flush=True)
    seen, idle = 0, 0.0
    try:
        while not args.max or seen < args.max:
            try:
                msgs = await sub.fetch(10, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):  # nats-py raises either
                idle += 1.0
                if args.idle_exit and idle >= args.idle_exit:
                    break
                continue
            idle = 0.0
            for msg in msgs:
                try:
                    event = json.loads(msg.data)
                    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
                except ValueError as exc:
                    errors, event = [exc], None
                if errors:
                    print(f"invalid event at stream seq {msg.metadata.sequence.stream}: {errors[0]}",
                          file=sys.stderr, flush=True)
                    await msg.term()
                    continue
                print(json.dumps(event, separators=(",", ":")), flush=True)
                await msg.ack()
                seen += 1
                if args.max and seen >= args.max:
                    break
    finally:
        # Not nc.drain(): with a pull subscription it can wait forever on nats-py 2.16.
        await sub.unsubscribe()
        await nc.flush(timeout=5)  # the last acks reach the server before we leave
        await nc.close()
    return 0


def main() -> int:
    try:
        return asyncio.run(run(parse_args()))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
