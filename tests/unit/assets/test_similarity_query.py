"""The near-match query: the chunk index is used up to its exact threshold, and every $n has an argument."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.assets.perceptual import INDEXED_MAX_DISTANCE, PerceptualHash
from services.assets.similarity_store import find_near


class Recorder:
    def __init__(self) -> None:
        self.sql, self.args = "", ()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.sql, self.args = sql, args
        return []


@pytest.mark.parametrize("threshold", [0, INDEXED_MAX_DISTANCE, INDEXED_MAX_DISTANCE + 1, 16])
async def test_placeholders_match_arguments_and_the_index_is_used_only_when_exact(threshold: int) -> None:
    conn = Recorder()
    ph = PerceptualHash(phash=-12345, dhash=678)
    assert await find_near(conn, "U1", ph, max_distance=threshold, max_dhash_distance=12, limit=5) == []  # type: ignore[arg-type]
    used = {int(n) for n in re.findall(r"\$(\d+)", conn.sql)}
    assert used == set(range(1, len(conn.args) + 1))  # PostgreSQL refuses a parameter it cannot type
    assert ("asset_hash_chunks" in conn.sql) == (threshold <= INDEXED_MAX_DISTANCE)
    assert "near_duplicates n WHERE n.asset_id = a.id" in conn.sql  # recorded copies are never originals
