"""argon2id hashing off the event loop (cheap parameters: the behaviour, not the cost, is tested)."""

from __future__ import annotations

from services.community.passwords import Passwords


def _passwords() -> Passwords:
    return Passwords(time_cost=1, memory_kib=8 * 1024, parallelism=1, workers=1)


async def test_hash_verifies_only_the_right_password() -> None:
    pw = _passwords()
    try:
        stored = await pw.hash("correct horse battery")
        assert stored.startswith("$argon2id$")
        assert await pw.verify(stored, "correct horse battery")
        assert not await pw.verify(stored, "correct horse battery!")
    finally:
        pw.close()


async def test_unknown_user_never_verifies() -> None:
    pw = _passwords()
    try:
        assert not await pw.verify(None, "not-a-real-password")
        assert not await pw.verify("garbage", "anything at all")
    finally:
        pw.close()


async def test_weaker_hash_needs_rehash() -> None:
    weak, strong = _passwords(), Passwords(time_cost=2, memory_kib=8 * 1024, parallelism=1, workers=1)
    try:
        assert strong.needs_rehash(await weak.hash("correct horse battery"))
    finally:
        weak.close()
        strong.close()
