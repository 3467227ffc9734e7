"""Everything the market publishes and consumes on JetStream.

Publishes (stream MARKET, through the outbox, in the transaction of the change):
`market.transaction.recorded` (every ledger transaction), `market.model.priced`,
`market.licence_request.created`, `market.licence_request.decided`, `market.licence.issued`.
Consumes: inference's generation outcomes as the durable `market-generations` —
`completed` settles the generation's reservation, `failed` and `canceled` release it. Each
reservation is decided once (locked row, status check and a unique ledger key in one
transaction), so a redelivered event moves nothing.
"""

from __future__ import annotations

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.market.payments import Payments
from services.market.settings import MarketSettings
from shared.contracts.events.catalog import GenerationCanceled, GenerationCompleted, GenerationFailed
from shared.contracts.events.envelope import CloudEvent
from shared.messaging.consumer import ConsumerSpec, JetStreamConsumer

OUTCOMES = ("inference.generation.completed", "inference.generation.failed", "inference.generation.canceled")


def generations_spec(settings: MarketSettings) -> ConsumerSpec:
    return ConsumerSpec(stream="INFERENCE", durable="market-generations", filter_subject="",
                        filter_subjects=OUTCOMES, max_deliver=settings.market_generations_max_deliver)


async def on_generation_event(payments: Payments, event: CloudEvent) -> None:
    payload = event.payload()
    if isinstance(payload, GenerationCompleted):
        await payments.settle(payload.generation_id, len(payload.outputs))
    elif isinstance(payload, GenerationFailed | GenerationCanceled):
        await payments.release(payload.generation_id)


def build_consumers(settings: MarketSettings, nc: NATS, js: JetStreamContext, payments: Payments,
                    ) -> list[JetStreamConsumer]:
    async def handle(event: CloudEvent, _msg: Msg) -> None:
        await on_generation_event(payments, event)

    return [JetStreamConsumer(nc, js, generations_spec(settings), handle)]
