"""The market service's operations: credits, model prices, reservations, licence trades.

Credits are integers. Every movement is a balanced ledger transaction with a unique business key
(`grant:<user>`, `reserve:<generation>`, `settle:<generation>`, `release:<generation>`,
`offer:<request>`, `pay:<request>`, `refund:<request>`): a retry or a redelivery never moves credits
twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from shared.contracts.common import Id, Listing, Page, Reply, Strict
from shared.contracts.operation import operation

SERVICE = "market"

# Strict ints: 2.5, "3" and true are a 422, not a silently converted amount.
Credits = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]
LicenceScope = Literal["personal", "editorial", "commercial"]
RequestDirection = Literal["incoming", "outgoing"]
RequestStatus = Literal["pending", "accepted", "declined"]
TransactionKind = Literal["grant", "reserve", "settle", "release", "offer", "pay", "refund"]


# -- credits --------------------------------------------------------------------------------------


class CreditsQuery(Strict):
    """Your credits (the account is opened with the starting grant on first use)."""


class CreditBalance(Reply):
    user_id: str
    balance: int = Field(description="credits you can spend")
    reserved: int = Field(description="credits held for generations and licence offers not decided yet")


class StatementQuery(Page):
    """`?limit=&cursor=` over your account's entries, newest first."""


class StatementEntry(Reply):
    id: str = Field(description="the entry's id (a cursor)")
    transaction_id: str
    kind: TransactionKind
    key: str = Field(description="the movement's business key, e.g. settle:<generation id>")
    reference: str | None = Field(description="the generation or licence request it is about")
    amount: int = Field(description="positive: credited to you; negative: debited")
    balance_after: int = Field(description="your spendable balance after this entry")
    created_at: datetime


class Statement(Listing[StatementEntry]):
    """One page of your statement."""


# -- model prices ---------------------------------------------------------------------------------


class ModelPricingBody(Strict):
    price_per_image: Credits = Field(description="credits a generated image costs others (0: free)")
    contributors_share: Annotated[int, Field(strict=True, ge=0, le=100)] = Field(
        description="percent of each payment split among the artists whose works trained the model, by their "
                    "share of the training set (the rest and any rounding remainder go to the owner)")


class ModelPricingSet(ModelPricingBody):
    id: Id = Field(description="the model's id (yours, and public)")


class ModelRef(Strict):
    id: Id = Field(description="the model's id")


class ModelPricing(Reply):
    model_id: str
    owner_id: str
    price_per_image: int
    contributors_share: int
    updated_at: datetime


# -- reservations (inference → market) ------------------------------------------------------------


class ReservationCreate(Strict):
    generation_id: Id
    payer_id: Id = Field(description="who asked for the generation")
    model_id: Id
    version: int = Field(ge=1)
    count: int = Field(ge=1, le=1000)


class ReservationRef(Strict):
    generation_id: Id


class Reservation(Reply):
    generation_id: str
    status: Literal["free", "held", "settled", "released"] = Field(
        description="free: nothing to pay (unpriced model, or your own)")
    amount: int = Field(description="credits held (0 when free)")
    charged: int | None = None


# -- licence trades -------------------------------------------------------------------------------


class LicenceRequestBody(Strict):
    scope: LicenceScope = Field(description="personal, editorial or commercial use")
    terms: Annotated[str, StringConstraints(max_length=2000)] = Field("", description="your proposed terms")
    offer_credits: Credits = Field(description="credits offered; held from your balance until the author decides")


class LicenceRequestCreate(LicenceRequestBody):
    id: Id = Field(description="the work's id")


class LicenceRequestQuery(Page):
    direction: RequestDirection = Field("incoming", description="incoming: asked of you; outgoing: yours")


class LicenceRequestRef(Strict):
    id: Id = Field(description="the licence request's id")


class LicenceRequest(Reply):
    id: str
    work_id: str
    buyer_id: str
    author_id: str
    scope: LicenceScope
    terms: str
    offer_credits: int
    status: RequestStatus
    created_at: datetime
    decided_at: datetime | None = None
    licence_id: str | None = Field(None, description="the licence issued on accept")


class LicenceRequestListing(Listing[LicenceRequest]):
    """One page of licence requests."""


class LicencesQuery(Page):
    """`?limit=&cursor=` over the licences you hold or granted, newest first."""


class LicenceRef(Strict):
    id: Id = Field(description="the licence's id")


class Licence(Reply):
    id: str
    request_id: str
    work_id: str
    licensor_id: str
    licensee_id: str
    scope: LicenceScope
    terms: str
    price: int
    issued_at: datetime


class LicenceListing(Listing[Licence]):
    """One page of licences."""


class LicenceCertificate(Reply):
    licence_id: str
    jws: str = Field(description="compact JWS (EdDSA, Ed25519) signed with the platform's licence key")
    public_key_jwk: dict[str, Any] = Field(description="the platform's public key (JWK) to check it offline")


class LicenceVerifyBody(Strict):
    jws: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = Field(
        description="a certificate's compact JWS")


class LicenceVerification(Reply):
    valid: bool = Field(description="false: the signature does not match (a changed byte), or it is not a licence "
                                    "this platform issued")
    claims: dict[str, Any] | None = Field(None, description="the certificate's claims when valid: licence id, work, "
                                          "licensor, licensee, scope, terms, price, issued_at")
    reason: str | None = Field(None, description="why it is not valid")


CREDITS_GET = operation(SERVICE, "credits.get", CreditsQuery, CreditBalance,
                        summary="Your credits: spendable balance and reserved")
CREDITS_STATEMENT = operation(SERVICE, "credits.statement", StatementQuery, Statement, problems=(400,),
                              summary="Your account's entries, newest first, with the balance after each")
PRICING_SET = operation(SERVICE, "pricing.set", ModelPricingSet, ModelPricing, problems=(404, 503),
                        summary="Set the price per image of your public model and its contributors' share",
                        timeout_s=15.0)
PRICING_GET = operation(SERVICE, "pricing.get", ModelRef, ModelPricing, problems=(404,), actor="optional",
                        summary="A model's price per image (404 when it is free)")
RESERVATIONS_CREATE = operation(SERVICE, "reservations.create", ReservationCreate, Reservation,
                                problems=(402, 503), actor="none", timeout_s=15.0,
                                summary="Hold the credits of a generation on someone else's priced model")
RESERVATIONS_RELEASE = operation(SERVICE, "reservations.release", ReservationRef, Reservation, actor="none",
                                 summary="Give a held reservation back (the generation was never created)")
LICENCE_REQUESTS_CREATE = operation(SERVICE, "licence_requests.create", LicenceRequestCreate, LicenceRequest,
                                    problems=(402, 404, 503), timeout_s=15.0,
                                    summary="Ask a work's author for a licence; the offer is held from your balance")
LICENCE_REQUESTS_LIST = operation(SERVICE, "licence_requests.list", LicenceRequestQuery, LicenceRequestListing,
                                  problems=(400,), summary="Licence requests asked of you or made by you")
LICENCE_REQUESTS_ACCEPT = operation(SERVICE, "licence_requests.accept", LicenceRequestRef, LicenceRequest,
                                    problems=(404, 409),
                                    summary="Accept a licence request on your work: the credits move and a "
                                            "certificate is issued")
LICENCE_REQUESTS_DECLINE = operation(SERVICE, "licence_requests.decline", LicenceRequestRef, LicenceRequest,
                                     problems=(404, 409),
                                     summary="Decline a licence request on your work: the offer goes back")
LICENCES_LIST = operation(SERVICE, "licences.list", LicencesQuery, LicenceListing, problems=(400,),
                          summary="Licences you hold or granted")
LICENCES_CERTIFICATE = operation(SERVICE, "licences.certificate", LicenceRef, LicenceCertificate, problems=(404,),
                                 summary="A licence's signed certificate (licensor and licensee only)")
LICENCES_VERIFY = operation(SERVICE, "licences.verify", LicenceVerifyBody, LicenceVerification, actor="none",
                            summary="Check a licence certificate: valid with its claims, or valid: false")
