"""The static web app (`/`, `/app/...`) and the API reference page (`/docs`), served from
`services/gateway/web/`: plain HTML, CSS and ES modules, no build step and nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).with_name("web")
_NO_CACHE = {"Cache-Control": "no-cache"}


async def index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html", headers=_NO_CACHE)


async def docs(_: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "docs.html", headers=_NO_CACHE)


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/docs", docs)
    app.router.add_static("/app/", WEB_DIR, append_version=False, follow_symlinks=False)
