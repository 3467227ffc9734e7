"""Application factory of the community service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.community.assets_client import AssetsClient
from services.community.cursors import CursorCodec, derive_secret
from services.community.deps import Deps
from services.community.login_guard import LoginGuard
from services.community.passwords import Passwords
from services.community.rpc import register
from services.community.settings import CommunitySettings
from services.community.suggestion_announcer import SuggestionAnnouncer
from services.community.tokens import TokenIssuer, load_private_key
from services.community.trainer_client import TrainerClient
from shared.contexts import DB, NC, CleanupCtx, owned_data_ctxs, rpc_ctx
from shared.web import create_base_app

SCHEMA = "community"
MIGRATIONS = Path(__file__).with_name("migrations")
DEPS = web.AppKey("deps", Deps)
PASSWORDS = web.AppKey("passwords", Passwords)


def _cursor_secret(settings: CommunitySettings) -> bytes:
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    assert settings.jwt_private_key_file is not None
    return derive_secret(settings.jwt_private_key_file.read_bytes())


def passwords_ctx(settings: CommunitySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[PASSWORDS] = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                                   parallelism=settings.argon2_parallelism, workers=settings.password_hash_workers)
        try:
            yield
        finally:
            app[PASSWORDS].close()

    return ctx


def build_deps(app: web.Application, settings: CommunitySettings, tokens: TokenIssuer) -> Deps:
    return Deps(
        settings=settings, pool=app[DB], passwords=app[PASSWORDS], tokens=tokens,
        cursors=CursorCodec(_cursor_secret(settings)),
        assets=AssetsClient(app[NC], settings.assets_timeout_s),
        login_guard=LoginGuard(app[DB], settings),
        trainer=TrainerClient(app[NC], settings.trainer_timeout_s),
        announcer=SuggestionAnnouncer(app[DB], settings.suggestions_announce_interval_s,
                                      settings.suggestions_announce_min_confidence),
    )


async def create_app(settings: CommunitySettings) -> web.Application:
    tokens = TokenIssuer(load_private_key(settings.jwt_private_key_file), settings.token_ttl_s)

    async def deps_ctx(app: web.Application) -> AsyncIterator[None]:
        app[DEPS] = build_deps(app, settings, tokens)
        try:
            yield
        finally:
            announcer = app[DEPS].announcer
            if announcer is not None:
                await announcer.close()

    app = create_base_app()
    app.cleanup_ctx.append(passwords_ctx(settings))
    app.cleanup_ctx.extend(owned_data_ctxs(settings, SCHEMA, MIGRATIONS))
    app.cleanup_ctx.append(deps_ctx)
    app.cleanup_ctx.append(rpc_ctx(settings, register, DEPS))
    return app
