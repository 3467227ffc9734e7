"""SQL of the market service beyond the ledger (ledger.py): prices, training records, reservations,
licence requests and licences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class PriceRow:
    model_id: str
    owner_id: str
    price_per_image: int
    contributors_share: int
    updated_at: datetime


@dataclass(frozen=True)
class ReservationRow:
    generation_id: str
    payer_id: str
    owner_id: str
    model_id: str
    version: int
    count: int
    price_per_image: int
    contributors_share: int
    amount: int
    status: str
    charged: int | None


async def set_price(conn: asyncpg.Connection, model_id: str, owner_id: str, price: int, share: int) -> PriceRow:
    row = await conn.fetchrow(
        "INSERT INTO model_prices (model_id, owner_id, price_per_image, contributors_share) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (model_id) DO UPDATE SET owner_id = $2, price_per_image = $3, contributors_share = $4,"
        " updated_at = now() RETURNING *", model_id, owner_id, price, share)
    return PriceRow(**dict(row))


async def get_price(conn: asyncpg.Connection | asyncpg.Pool, model_id: str) -> PriceRow | None:
    row = await conn.fetchrow("SELECT * FROM model_prices WHERE model_id = $1", model_id)
    return PriceRow(**dict(row)) if row else None


async def version_artists(conn: asyncpg.Connection | asyncpg.Pool, model_id: str,
                          version: int) -> dict[str, int] | None:
    raw = await conn.fetchval("SELECT artists FROM version_records WHERE model_id = $1 AND version = $2",
                              model_id, version)
    return {str(k): int(v) for k, v in raw.items()} if raw is not None else None


async def record_version_artists(pool: asyncpg.Pool, model_id: str, version: int, artists: dict[str, int]) -> None:
    await pool.execute("INSERT INTO version_records (model_id, version, artists) VALUES ($1, $2, $3)"
                       " ON CONFLICT DO NOTHING", model_id, version, artists)


_RESERVATION = ("generation_id, payer_id, owner_id, model_id, version, count, price_per_image, contributors_share,"
                " amount, status, charged")


async def get_reservation(conn: asyncpg.Connection | asyncpg.Pool, generation_id: str,
                          *, for_update: bool = False) -> ReservationRow | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_RESERVATION} FROM reservations WHERE generation_id = $1{lock}",
                              generation_id)
    return ReservationRow(**dict(row)) if row else None


async def insert_reservation(conn: asyncpg.Connection, r: ReservationRow) -> None:
    await conn.execute(
        f"INSERT INTO reservations ({_RESERVATION}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        r.generation_id, r.payer_id, r.owner_id, r.model_id, r.version, r.count, r.price_per_image,
        r.contributors_share, r.amount, r.status, r.charged)


async def decide_reservation(conn: asyncpg.Connection, generation_id: str, status: str, charged: int) -> None:
    await conn.execute("UPDATE reservations SET status = $2, charged = $3, decided_at = now()"
                       " WHERE generation_id = $1", generation_id, status, charged)


# --- licence requests and licences ------------------------------------------------------------------

_REQUEST = ("r.id, r.work_id, r.buyer_id, r.author_id, r.scope, r.terms, r.offer_credits, r.status, r.created_at,"
            " r.decided_at, l.id AS licence_id")
_REQUESTS = "licence_requests r LEFT JOIN licences l ON l.request_id = r.id"
_LICENCE = "id, request_id, work_id, licensor_id, licensee_id, scope, terms, price, issued_at"


async def get_licence_request(conn: asyncpg.Connection | asyncpg.Pool, request_id: str,
                              *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE OF r" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_REQUEST} FROM {_REQUESTS} WHERE r.id = $1{lock}", request_id)
    return dict(row) if row else None


async def licence_request_by_key(conn: asyncpg.Connection | asyncpg.Pool, buyer_id: str,
                                 idempotency_key: str | None) -> str | None:
    value = await conn.fetchval("SELECT id FROM licence_requests WHERE buyer_id = $1 AND idempotency_key = $2",
                                buyer_id, idempotency_key)
    return str(value) if value else None


async def insert_licence_request(conn: asyncpg.Connection, request_id: str, work_id: str, buyer_id: str,
                                 author_id: str, scope: str, terms: str, offer: int,
                                 idempotency_key: str | None) -> None:
    await conn.execute(
        "INSERT INTO licence_requests (id, work_id, buyer_id, author_id, scope, terms, offer_credits,"
        " idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", request_id, work_id, buyer_id, author_id,
        scope, terms, offer, idempotency_key)


async def licence_requests_of(pool: asyncpg.Pool, user_id: str, *, incoming: bool, before: str | None,
                              limit: int) -> list[dict[str, Any]]:
    column = "author_id" if incoming else "buyer_id"
    rows = await pool.fetch(f"SELECT {_REQUEST} FROM {_REQUESTS} WHERE r.{column} = $1"
                            " AND ($2::text IS NULL OR r.id < $2) ORDER BY r.id DESC LIMIT $3", user_id, before, limit)
    return [dict(r) for r in rows]


async def decide_licence_request(conn: asyncpg.Connection, request_id: str, status: str) -> None:
    await conn.execute("UPDATE licence_requests SET status = $2, decided_at = now() WHERE id = $1", request_id, status)


async def insert_licence(conn: asyncpg.Connection, licence_id: str, request: dict[str, Any], issued_at: datetime,
                         jws: str) -> None:
    await conn.execute(
        f"INSERT INTO licences ({_LICENCE}, jws) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        licence_id, request["id"], request["work_id"], request["author_id"], request["buyer_id"], request["scope"],
        request["terms"], int(request["offer_credits"]), issued_at, jws)


async def licences_of(pool: asyncpg.Pool, user_id: str, *, before: str | None, limit: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(f"SELECT {_LICENCE} FROM licences WHERE (licensee_id = $1 OR licensor_id = $1)"
                            " AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", user_id, before, limit)
    return [dict(r) for r in rows]


async def licence_certificate(pool: asyncpg.Pool, licence_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT id, licensor_id, licensee_id, jws FROM licences WHERE id = $1", licence_id)
    return dict(row) if row else None


async def licence_exists(pool: asyncpg.Pool, licence_id: str) -> bool:
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM licences WHERE id = $1)", licence_id))
