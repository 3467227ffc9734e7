"""What every part of the community contract shares: the service name and the common field types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from shared.contracts.common import Clean

SERVICE = "community"

Origin = Literal["human", "ai", "collab"]
Visibility = Literal["public", "unlisted", "private"]
CollectionVisibility = Literal["public", "private"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class CommunityNoInput(Clean):
    """An operation that takes nothing but its caller (anything sent is ignored)."""
