"""How a payment for generated images is split, in integer credits with exact sums."""

from __future__ import annotations


def split_payment(charged: int, contributors_share: int, owner_id: str, artists: dict[str, int]) -> dict[str, int]:
    """Credits per user for a payment of `charged`.

    `contributors_share` percent (rounded down) is the contributors' pool, split among the training
    set's artists by their images in it (`artists`: author id -> images; rounded down each). The owner
    gets the rest and every rounding remainder, so the parts always sum to `charged`. An owner who is
    also a training artist gets both parts."""
    if charged < 0 or not 0 <= contributors_share <= 100:
        raise ValueError("a payment is a non-negative amount and a share a percentage")
    images = sum(n for n in artists.values() if n > 0)
    pool = charged * contributors_share // 100 if images else 0
    parts: dict[str, int] = {}
    for artist, n in sorted(artists.items()):
        if n > 0 and (credit := pool * n // images):
            parts[artist] = parts.get(artist, 0) + credit
    parts[owner_id] = parts.get(owner_id, 0) + charged - sum(parts.values())
    return {user: credit for user, credit in parts.items() if credit}
