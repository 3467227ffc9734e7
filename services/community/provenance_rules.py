"""What an upload's C2PA manifest allows a work to claim (assets records it before stripping).

- A file whose manifest declares an AI source type (`trainedAlgorithmicMedia`, ...) cannot be in a
  work published as `human` (422 naming the file and the source type); `ai` and `collab` are fine.
- A file whose training-and-data-mining assertion does not allow training pins the work's
  `allow_training` to false: silently when a work is created, a 422 when its author asks to switch
  it on.
"""

from __future__ import annotations

from typing import Any

from shared.errors import Unprocessable


def _declared(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): item["declared"] for item in reply.get("items", [])
            if isinstance(item, dict) and isinstance(item.get("declared"), dict)}


def check_origin(origin: str, reply: dict[str, Any]) -> None:
    if origin != "human":
        return
    ai = {asset_id: d for asset_id, d in _declared(reply).items() if d.get("ai_generated")}
    if ai:
        raise Unprocessable(
            "this work cannot be published as human work: the C2PA manifest of "
            + ", ".join(f"{a} declares {', '.join(d.get('source_types') or ['an AI source'])}" for a, d in ai.items())
            + "; publish it as origin 'ai' or 'collab'",
            errors=[{"field": "origin", "type": "c2pa_ai_source", "asset_id": a,
                     "message": f"asset {a}: its C2PA manifest declares an AI source type"} for a in ai],
            extra={"reason": "c2pa_ai_source", "asset_ids": list(ai)})


def training_pinned(reply: dict[str, Any]) -> list[str]:
    """Assets whose manifest does not allow training (the work's `allow_training` must stay false)."""
    return [a for a, d in _declared(reply).items() if d.get("training_allowed") is False]


def refuse_training(pinned: list[str]) -> None:
    raise Unprocessable(
        "training cannot be allowed on this work: the C2PA manifest of " + ", ".join(pinned)
        + " says it may not be used for AI training",
        errors=[{"field": "allow_training", "type": "c2pa_do_not_train", "asset_id": a,
                 "message": f"asset {a}: its C2PA manifest does not allow training"} for a in pinned],
        extra={"reason": "c2pa_do_not_train", "asset_ids": pinned})
