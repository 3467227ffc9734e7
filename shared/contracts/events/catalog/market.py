"""Events of the market: ledger transactions, licence requests and licences, model prices."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.events.registry import EventPayload


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(description="user:<id> (spendable), hold:<id> (reserved) or mint (the grants' source)")
    user_id: str | None = None
    amount: int = Field(description="positive: credited; the entries of a transaction sum to zero")


class LedgerTransactionRecorded(EventPayload, subject="market.transaction.recorded"):
    """A balanced ledger transaction was recorded (grant, reserve, settle, release, offer, pay, refund)."""

    transaction_id: str
    key: str = Field(description="the unique business key, e.g. settle:<generation id>")
    kind: str
    reference: str | None = None
    entries: list[LedgerEntry]
    created_at: datetime


class LicenceRequested(EventPayload, subject="market.licence_request.created"):
    """Someone asked a work's author for a licence."""

    request_id: str
    work_id: str
    buyer_id: str
    author_id: str
    scope: str
    offer_credits: int


class LicenceRequestDecided(EventPayload, subject="market.licence_request.decided"):
    """The author accepted or declined a licence request."""

    request_id: str
    work_id: str
    buyer_id: str
    author_id: str
    status: Literal["accepted", "declined"]


class LicenceIssued(EventPayload, subject="market.licence.issued"):
    """A licence certificate was issued on an accepted request."""

    licence_id: str
    request_id: str
    work_id: str
    licensor_id: str
    licensee_id: str
    scope: str
    price: int
    issued_at: datetime


class ModelPriced(EventPayload, subject="market.model.priced"):
    """A model's owner set its price per image and contributors' share."""

    model_id: str
    owner_id: str
    price_per_image: int
    contributors_share: int
