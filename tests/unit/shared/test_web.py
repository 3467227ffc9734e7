"""The HTTP scaffolding every service uses: problem+json, request ids, readiness, metrics."""

from aiohttp import web

from shared.errors import Conflict
from shared.web import add_readiness_check, create_base_app


def make_app() -> web.Application:
    app = create_base_app(client_max_size=1024)

    async def conflict(_: web.Request) -> web.Response:
        raise Conflict("that username is taken")

    async def crash(_: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    app.router.add_get("/conflict", conflict)
    app.router.add_get("/crash", crash)
    app.router.add_post("/echo", echo)
    return app


async def test_domain_error_is_problem_json(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/conflict")
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == 409 and body["detail"] == "that username is taken"
    assert body["type"].endswith("/conflict")


async def test_unexpected_error_is_generic_500_without_details(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/crash")
    assert resp.status == 500
    text = await resp.text()
    assert "secret internal detail" not in text and "Traceback" not in text
    assert (await resp.json())["title"] == "Internal error"


async def test_unknown_route_and_method_are_problems(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/nope")
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    resp = await client.delete("/conflict")
    assert resp.status == 405 and "GET" in resp.headers["Allow"]


async def test_too_large_body_is_413(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.post("/echo", data=b"x" * 4096, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert resp.content_type == "application/problem+json"


async def test_request_id_is_echoed_or_created(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    resp = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces\u00e9"})
    assert resp.headers["X-Request-ID"] != "bad id with spaces\u00e9"
    assert len(resp.headers["X-Request-ID"]) == 26
    resp = await client.get("/conflict")
    assert resp.headers["X-Request-ID"]


async def test_readyz_reports_failing_dependency(aiohttp_client) -> None:
    app = make_app()

    async def up() -> bool:
        return True

    async def down() -> bool:
        raise ConnectionError("db gone")

    add_readiness_check(app, "nats", up)
    add_readiness_check(app, "postgres", down)
    client = await aiohttp_client(app)
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["checks"] == {"nats": True, "postgres": False}
    assert (await client.get("/healthz")).status == 200


async def test_metrics_count_requests_by_route(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    await client.get("/conflict")
    text = await (await client.get("/metrics")).text()
    assert 'atelier_http_requests_total{method="GET",route="/conflict",status="409"}' in text


async def test_readyz_reports_do_not_decide_readiness(aiohttp_client) -> None:
    from shared.web import add_readiness_report

    app = make_app()

    async def services() -> dict[str, bool]:
        return {"community": False}

    async def broken() -> dict[str, bool]:
        raise ConnectionError("nobody home")

    add_readiness_report(app, "services", services)
    add_readiness_report(app, "other", broken)
    client = await aiohttp_client(app)
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["reports"] == {"services": {"community": False}, "other": None}
