"""The web app's webhook form offers exactly the event types the API lets an endpoint subscribe to
(a type it lacked could not be chosen; one the API dropped would be a 422 on every save)."""

from __future__ import annotations

import re
from pathlib import Path

from shared.contracts.webhooks import subscribable_types

VIEW = Path(__file__).resolve().parents[3] / "services" / "gateway" / "web" / "js" / "views" / "webhooks.js"


def test_the_webhook_form_offers_every_subscribable_type_and_no_other() -> None:
    source = VIEW.read_text()
    block = source.split("export const EVENT_TYPES = [", 1)[1].split("]];", 1)[0]
    offered = re.findall(r'\["([a-z_.]+)", "[^"]+"\]?', block)
    assert len(offered) == len(set(offered)), "an event type is offered twice"
    assert sorted(offered) == sorted(subscribable_types())
