"""The double-entry ledger: accounts, balanced transactions under unique business keys, statements.

Each user has two accounts, opened together on first use: `user:<id>` (spendable) and `hold:<id>`
(reserved for generations and licence offers not decided yet). Credits enter from the `mint`
account (the starting grant), so the sum over every account is always zero. A transaction is
recorded once per business key: posting a key again moves nothing. PostgreSQL checks at commit
that every transaction balances, and refuses any UPDATE or DELETE of the ledger's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.contracts.events.catalog import LedgerEntry, LedgerTransactionRecorded
from shared.errors import BadRequest
from shared.ids import new_id
from shared.messaging.publisher import event_in_context
from shared.outbox import enqueue

SCHEMA = "market"
MINT = "mint"


def spendable(user_id: str) -> str:
    return f"user:{user_id}"


def held(user_id: str) -> str:
    return f"hold:{user_id}"


def _user_of(account_id: str) -> str | None:
    return account_id.split(":", 1)[1] if ":" in account_id else None


async def open_account(conn: asyncpg.Connection, user_id: str, grant: int) -> None:
    """Open the user's accounts (and post the starting grant) unless they exist."""
    opened = await conn.fetch(
        "INSERT INTO accounts (id, kind, user_id) VALUES ($1, 'user', $3), ($2, 'hold', $3)"
        " ON CONFLICT (id) DO NOTHING RETURNING id", spendable(user_id), held(user_id), user_id)
    if opened and grant > 0:
        await post(conn, f"grant:{user_id}", "grant", user_id, [(MINT, -grant), (spendable(user_id), grant)])


async def lock(conn: asyncpg.Connection, account_id: str) -> None:
    """Serialise the debits of one account until the transaction ends."""
    await conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id)


async def balance(conn: asyncpg.Connection | asyncpg.Pool, account_id: str) -> int:
    return int(await conn.fetchval("SELECT COALESCE(SUM(amount), 0) FROM entries WHERE account_id = $1",
                                   account_id))


async def post(conn: asyncpg.Connection, key: str, kind: str, reference: str | None,
               entries: list[tuple[str, int]]) -> str | None:
    """Record a balanced transaction under `key` (inside the caller's transaction) and its event.

    Entries on the same account are merged and zero ones dropped. Returns the transaction id, or
    None when `key` was recorded before: nothing moves twice."""
    merged: dict[str, int] = {}
    for account, amount in entries:
        merged[account] = merged.get(account, 0) + amount
    lines = [(a, v) for a, v in merged.items() if v != 0]
    if sum(v for _, v in lines) != 0:
        raise ValueError(f"transaction {key} does not balance: {lines}")
    if not lines:
        return None
    tx_id = new_id()
    created_at = await conn.fetchval(
        "INSERT INTO transactions (id, key, kind, reference) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (key) DO NOTHING RETURNING created_at", tx_id, key, kind, reference)
    if created_at is None:
        return None
    await conn.executemany("INSERT INTO entries (transaction_id, account_id, amount) VALUES ($1, $2, $3)",
                           [(tx_id, a, v) for a, v in lines])
    event = LedgerTransactionRecorded(
        transaction_id=tx_id, key=key, kind=kind, reference=reference, created_at=created_at,
        entries=[LedgerEntry(account_id=a, user_id=_user_of(a), amount=v) for a, v in lines])
    await enqueue(conn, SCHEMA, event_in_context(event, service=SCHEMA, subject_id=tx_id))
    return tx_id


async def recorded(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM transactions WHERE key = $1)", key))


@dataclass(frozen=True)
class StatementLine:
    id: str
    transaction_id: str
    kind: str
    key: str
    reference: str | None
    amount: int
    balance_after: int
    created_at: datetime


async def statement(pool: asyncpg.Pool, user_id: str, cursor: str | None, limit: int) -> list[StatementLine]:
    """The spendable account's entries, newest first, each with the balance after it."""
    if cursor is not None and not (cursor.isdigit() and len(cursor) <= 18):
        raise BadRequest("the cursor is not valid")
    rows = await pool.fetch(
        "SELECT * FROM (SELECT e.id, e.transaction_id, t.kind, t.key, t.reference, e.amount, t.created_at,"
        "  SUM(e.amount) OVER (ORDER BY e.id) AS balance_after"
        "  FROM entries e JOIN transactions t ON t.id = e.transaction_id WHERE e.account_id = $1) s"
        " WHERE $2::bigint IS NULL OR s.id < $2 ORDER BY s.id DESC LIMIT $3",
        spendable(user_id), int(cursor) if cursor else None, limit)
    return [StatementLine(id=str(r["id"]), transaction_id=r["transaction_id"], kind=r["kind"], key=r["key"],
                          reference=r["reference"], amount=int(r["amount"]), balance_after=int(r["balance_after"]),
                          created_at=r["created_at"]) for r in rows]


async def total(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """The sum over every account: zero, always (what the tests check)."""
    return int(await conn.fetchval("SELECT COALESCE(SUM(amount), 0) FROM entries"))
