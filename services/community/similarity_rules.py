"""A human work may not pass off another artist's work as its own without saying so.

Assets records, when a file is uploaded, which other artists' shown works it nearly matches
(perceptual hash); `svc.assets.describe` answers those as `near_duplicate_of`. A work of origin
`human` using such a file is a 409 naming the original (its work and author only when that work is
public: an unlisted work is not revealed to someone who merely has a similar image) unless the
request says `acknowledge_similarity: true`; the acknowledgement is recorded on the work.
`ai` and `collab` works claim no sole authorship and need no acknowledgement.
"""

from __future__ import annotations

from typing import Any

from shared.errors import Conflict

FIELD = "acknowledge_similarity"


def _originals(reply: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in reply.get("items", []):
        if isinstance(item, dict) and isinstance(item.get("near_duplicate_of"), list) and item["near_duplicate_of"]:
            found[str(item["id"])] = [o for o in item["near_duplicate_of"] if isinstance(o, dict)]
    return found


def _shown(asset_id: str, original: dict[str, Any]) -> dict[str, Any]:
    named = {"asset_id": asset_id, "distance": original.get("distance")}
    if original.get("work_public"):
        named.update(original_work_id=original.get("work_id"), original_author_id=original.get("author_id"))
    return named


def _phrase(named: dict[str, Any]) -> str:
    where = (f"work {named['original_work_id']} by user {named['original_author_id']}"
             if "original_work_id" in named else "a work another artist shares by link")
    return f"asset {named['asset_id']} nearly matches {where} (distance {named['distance']})"


def check_similarity(origin: str, reply: dict[str, Any], acknowledged: bool | None) -> bool:
    """True when the work is human, nearly matches another's work and that was acknowledged (record it);
    False when there is nothing to acknowledge; a 409 when it needs the acknowledgement."""
    if origin != "human":
        return False
    originals = _originals(reply)
    if not originals:
        return False
    if acknowledged:
        return True
    named = [_shown(asset_id, o) for asset_id, found in originals.items() for o in found]
    raise Conflict(
        "this work cannot be published as original human work without acknowledging that "
        + "; ".join(_phrase(n) for n in named)
        + f". Send \"{FIELD}\": true to publish it anyway (recorded on the work), or publish it as origin "
          "'ai' or 'collab'",
        errors=[{"field": FIELD, "type": "near_duplicate", "asset_id": n["asset_id"], "message": _phrase(n)}
                for n in named],
        extra={"reason": "near_duplicate", "originals": named, "acknowledge_with": {FIELD: True}})
