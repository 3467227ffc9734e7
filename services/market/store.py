"""SQL of the market service beyond the ledger (ledger.py): prices, training records, reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
