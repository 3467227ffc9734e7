"""What the domain modules need, bundled once per process (built in app.py, passed to handlers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg

from services.community.assets_client import AssetsClient
from services.community.cursors import CursorCodec
from services.community.login_guard import LoginGuard
from services.community.passwords import Passwords
from services.community.settings import CommunitySettings
from services.community.tokens import TokenIssuer
from services.community.trainer_client import TrainerClient


class LikeListener(Protocol):
    """Told after a like committed (services/community/suggestion_announcer.py); never fails the like."""

    def liked(self, author_id: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Deps:
    settings: CommunitySettings
    pool: asyncpg.Pool
    passwords: Passwords
    tokens: TokenIssuer
    cursors: CursorCodec
    assets: AssetsClient
    login_guard: LoginGuard
    trainer: TrainerClient | None = None  # seed suggestions; None: that kind is left out
    announcer: LikeListener | None = None  # suggestion events after likes; None: none are announced
