"""Two market replicas starting at once on one state dir (cluster mode) end up with one licence key:
a certificate one signs, the other verifies."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from services.market.certificates import Signer, load_key
from services.market.settings import MarketSettings


def _kid(state_dir: str, out: multiprocessing.Queue[str]) -> None:
    out.put(Signer(load_key(MarketSettings(state_dir=Path(state_dir)))).kid)


def test_replicas_starting_together_share_one_generated_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_kid, args=(str(tmp_path), out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
    kids = {out.get(timeout=5) for _ in procs}
    assert len(kids) == 1
    assert kids == {Signer(load_key(MarketSettings(state_dir=tmp_path))).kid}
