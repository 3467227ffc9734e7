"""schemathesis against the live stack's `/v1/openapi.json`, as a signed-in user: no answer is a
5xx and none has a status the document does not list for its operation.

A bounded run here (`ATELIER_FUZZ_EXAMPLES`, default 3 examples per operation, the explicit
examples and the fuzzing phase: about two minutes on two cores); `make fuzz` runs every phase
(coverage and stateful too) with many more examples. The run is bounded by its case count; the
time limit is only a backstop, and the test fails if it ended the run before every operation of
the document was exercised (schemathesis itself exits 0 then). The edge's own refusals that
schemathesis does not provoke (bad tokens, oversized headers and bodies) are checked per operation
by test_openapi_statuses.py.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("ATELIER_FUZZ_EXAMPLES", "3"))
PHASES = os.environ.get("ATELIER_FUZZ_PHASES", "examples,fuzzing")
TIME_LIMIT_S = float(os.environ.get("ATELIER_FUZZ_TIME_LIMIT_S", "270"))  # under pytest-timeout's 300 s
# Schemathesis does not call the schema's own URL.
NOT_EXERCISED = {"GET /v1/openapi.json"}
CHECKS = "not_a_server_error,status_code_conformance"


async def signed_in(http: aiohttp.ClientSession) -> str:
    name = "fz_" + secrets.token_hex(6)
    async with http.post("/v1/auth/signup", json={"username": name, "email": f"{name}@example.com",
                                                  "password": "correct horse battery"}) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["token"])


def run_schemathesis(gateway_url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [str(SCHEMATHESIS), "run", f"{gateway_url}/v1/openapi.json", "--url", gateway_url,
               "-H", f"Authorization: Bearer {token}", "--checks", CHECKS, "--phases", PHASES,
               "--max-examples", str(EXAMPLES), "--max-time", str(int(TIME_LIMIT_S * 0.8)),
               "--workers", "1", "--request-timeout", "30",
               "--generation-deterministic", "--report", "junit",
               "--report-junit-path", str(report)]
    # Run in the test's temporary directory: schemathesis leaves its cache (.schemathesis/) where it runs.
    return subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT_S, check=False,
                          cwd=report.parent)


def exercised(report: Path) -> set[str]:
    """The operations ("GET /v1/works") the junit report shows as run, not skipped."""
    cases = ET.parse(report).getroot().iter("testcase")
    return {case.get("name", "") for case in cases if case.find("skipped") is None}


def operations(doc: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in doc["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


async def test_schemathesis_finds_no_server_error_and_no_undocumented_status(http, gateway_url, tmp_path):  # type: ignore[no-untyped-def]
    token = await signed_in(http)
    async with http.get("/v1/openapi.json") as resp:
        documented = operations(await resp.json())
    result = await asyncio.to_thread(run_schemathesis, gateway_url, token, tmp_path / "junit.xml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "operations" in output.lower()  # it did run against the document
    missed = documented - NOT_EXERCISED - exercised(tmp_path / "junit.xml")
    assert not missed, f"the time limit ended the run before these operations were fuzzed: {sorted(missed)}"
