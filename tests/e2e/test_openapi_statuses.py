"""The OpenAPI document lists every status an operation answers, also for the edge's answers that
schemathesis (test_security_fuzz.py) does not provoke with a valid token and well-formed requests:
each operation of the served document gets a bad token, an oversized header, an oversized request
line and — where it takes a body or is a POST — an oversized body, the wrong media type, a body
nested 600 levels deep (a 400 on every JSON route) and a malformed `Idempotency-Key`. Whatever it
answers must be a status its operation documents, and never a 5xx the document does not list."""

from __future__ import annotations

import re
import secrets
from typing import Any

import aiohttp

from tests.support.members import sign_up

PLACEHOLDERS = {"id": "01J00000000000000000000000", "index": "0", "version": "1"}
NESTED = b'{"x": ' + b"[" * 600 + b"]" * 600 + b"}"  # 1.2 KB nested 600 deep: a 400 on every JSON route
BIG_BODY = b'{"x":"' + b"a" * (1024 * 1024 + 10) + b'"}'  # past the gateway's 1 MiB body limit


def _url(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PLACEHOLDERS.get(m.group(1), "nobody_" + secrets.token_hex(3)), path)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")]


async def test_every_edge_answer_is_documented_for_its_operation(http: aiohttp.ClientSession,
                                                                 gateway_url: str) -> None:
    member = await sign_up(http, "oa_")
    async with http.get("/v1/openapi.json") as resp:
        doc = await resp.json()
    undocumented: list[str] = []
    seen: set[int] = set()

    async def attempt(what: str, method: str, path: str, op: dict[str, Any], *, expect: int | None = None,
                      **kwargs: Any) -> None:
        async with aiohttp.ClientSession(base_url=gateway_url) as fresh:  # a closed connection is fine
            async with fresh.request(method, _url(path) + kwargs.pop("suffix", ""), **kwargs) as resp:
                await resp.read()
                seen.add(resp.status)
                if expect is not None and resp.status != expect:
                    undocumented.append(f"{method} {path} ({what}) answered {resp.status}, not {expect}")
                if str(resp.status) not in op["responses"]:
                    undocumented.append(f"{method} {path} ({what}) answered {resp.status}, documented: "
                                        f"{sorted(op['responses'])}")

    for method, path, op in _operations(doc):
        await attempt("a bad token", method, path, op, headers={"Authorization": "Bearer not-a-token"})
        await attempt("a malformed Authorization header", method, path, op, headers={"Authorization": "Basic x"})
        await attempt("an oversized header", method, path, op, headers={**member.headers, "X-Big": "a" * 20_000})
        await attempt("an oversized request line", method, path, op, headers=member.headers,
                      suffix="?q=" + "a" * 9000)
        if "requestBody" in op or method == "POST":
            key = {"Idempotency-Key": secrets.token_hex(8)}
            await attempt("an oversized body", method, path, op, data=BIG_BODY,
                          headers={**member.headers, **key, "Content-Type": "application/json"})
            await attempt("the wrong media type", method, path, op, data=b"hello",
                          headers={**member.headers, "Content-Type": "text/plain"})
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            await attempt("a deeply nested body", method, path, op, data=NESTED, expect=400,
                          headers={**member.headers, "Content-Type": "application/json"})
        if method == "POST":
            await attempt("a malformed Idempotency-Key", method, path, op, json={},
                          headers={**member.headers, "Idempotency-Key": "bad key \u00e9"})
    assert not undocumented, "\n".join(undocumented)
    assert {400, 401, 413, 414, 415, 431} <= seen, seen  # the attacks did reach each kind of refusal
