"""The assets contract: every declared operation is served, and answers have the declared shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
from pydantic import ValidationError

from services.assets.rpc import asset_record, asset_view, register
from services.assets.store import AssetRow
from shared.contracts import assets as contract
from shared.contracts.operation import operations
from shared.messaging.rpc import RpcServer

ROW = AssetRow(
    id="01JD0000000000000000000000", owner_id="owner-1", kind="upload", sha256="ab" * 32,
    content_type="image/png", width=64, height=32, size=1234, orientation=6,
    palette=["#112233", "#445566", "#778899", "#aabbcc", "#ddeeff"],
    object_key="originals/owner-1/x", thumbnail_key="thumbnails/owner-1/x.webp",
    meta={"thumbnail_bytes": 99}, created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
)


def test_every_declared_operation_is_served() -> None:
    server = RpcServer(MagicMock(), "assets")
    register(server, MagicMock())
    assert server.missing() == []
    assert server.operations == sorted(op.name for op in operations("assets"))
    assert {op.name for op in operations("assets")} == {
        "uploads.create", "uploads.complete", "uploads.abort", "get", "content_url", "delete",
        "store", "store_generated", "describe", "read_urls", "owned", "possible_copies"}


def test_the_client_view_hides_the_owner_and_points_at_the_gateway() -> None:
    view: dict[str, Any] = json.loads(asset_view(ROW).model_dump_json())
    assert set(view) == {"id", "sha256", "content_type", "width", "height", "size", "kind", "palette",
                         "created_at", "urls"}
    assert view["urls"] == {"content": f"/v1/assets/{ROW.id}/content",
                            "thumbnail": f"/v1/assets/{ROW.id}/thumbnail"}
    assert view["created_at"] == "2026-01-02T03:04:05.678000Z"


def test_other_services_see_the_owner_and_orientation() -> None:
    record = json.loads(asset_record(ROW).model_dump_json())
    assert (record["owner_id"], record["orientation"], record["palette"]) == ("owner-1", 6, ROW.palette)
    assert "urls" not in record


def test_an_upload_ticket_expires_at_an_rfc3339_utc_time() -> None:
    ticket = contract.UploadTicket(asset_id=ROW.id, upload_url="http://store/x", max_bytes=10,
                                   expires_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert json.loads(ticket.model_dump_json()) == {
        "asset_id": ROW.id, "upload_url": "http://store/x", "method": "PUT", "max_bytes": 10,
        "expires_at": "2026-01-02T03:04:05Z"}


def test_a_direct_upload_is_the_default_and_unknown_fields_are_refused() -> None:
    assert contract.UploadCreate().direct is True
    assert contract.UploadCreate.model_validate({"direct": False}).direct is False
    with pytest.raises(ValidationError, match="extra"):
        contract.AssetRef.model_validate({"id": "x", "extra": 1})
