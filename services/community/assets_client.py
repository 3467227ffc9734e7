"""What community asks of the assets service: do these files exist, whose are they, their palettes."""

from __future__ import annotations

from typing import Any

import orjson
from nats.aio.client import Client as NATS

from shared.contracts import assets
from shared.errors import AtelierError, ServiceUnavailable, Unprocessable
from shared.logging import get_logger
from shared.messaging.rpc import call_raw

log = get_logger(__name__)


class AssetsClient:
    def __init__(self, nc: NATS, timeout_s: float) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def describe(self, ids: list[str], owner_id: str | None = None) -> dict[str, Any]:
        """`svc.assets.describe`; an unreachable or failing assets service is a 503, never a crash."""
        payload: dict[str, Any] = {"ids": ids}
        if owner_id is not None:
            payload["owner_id"] = owner_id
        try:
            reply = orjson.loads(await call_raw(self._nc, assets.DESCRIBE, payload, timeout=self._timeout_s))
        except AtelierError as exc:
            if exc.status >= 500:
                log.warning("community.assets.unavailable", status=exc.status, detail=exc.detail)
                raise ServiceUnavailable("the assets service is not available right now; try again shortly",
                                         headers={"Retry-After": "5"}) from None
            raise Unprocessable("the assets could not be checked",
                                errors=[{"field": "asset_ids", "message": exc.detail, "type": "assets"}]) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("items"), list):
            raise ServiceUnavailable("the assets service gave an unexpected answer")
        return reply

    async def require_owned(self, ids: list[str], owner_id: str) -> dict[str, Any]:
        """422 naming every asset that does not exist or belongs to someone else; else the description."""
        reply = await self.describe(ids, owner_id=owner_id)
        owned = {item.get("id") for item in reply["items"] if item.get("owner_id") == owner_id}
        refused = [asset_id for asset_id in ids if asset_id not in owned]
        if refused:
            raise Unprocessable(
                "some assets do not exist or are not yours",
                errors=[{"field": "asset_ids", "message": f"unknown or not yours: {asset_id}", "type": "asset"}
                        for asset_id in refused],
                extra={"asset_ids": refused},
            )
        return reply

    async def palettes(self, ids: list[str]) -> dict[str, list[str]] | None:
        """Palette of each asset, or None when assets cannot answer (insights degrade, not fail)."""
        if not ids:
            return {}
        try:
            reply = await self.describe(ids)
        except (ServiceUnavailable, Unprocessable):
            return None
        return {item["id"]: list(item.get("palette") or []) for item in reply["items"] if "id" in item}
