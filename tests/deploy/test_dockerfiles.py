"""Structural lint of the service Dockerfiles (no Docker daemon here): pinned multi-stage builds,
non-root runtime, the right dependency group, and torch only in the trainer's image."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from k8s_manifests import REPO

DOCKER = REPO / "deploy" / "docker"
SERVICES = {"gateway": 8080, "community": 8081, "assets": 8082, "trainer": 8083, "inference": 8084,
            "webhooks": 8085, "market": 8086}
GROUP = {"trainer": "trainer", "inference": "inference"}  # the others install the core only


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        logical.append((keyword.upper(), rest.strip()))
        current = ""
    return logical


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def optional_group(name: str) -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["dependencies"] if name == "" else project["optional-dependencies"][name]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_build_is_multi_stage_from_a_pinned_python_slim(service: str) -> None:
    built = stages(DOCKER / f"{service}.Dockerfile")
    assert len(built) >= 2
    for stage in built:
        image = stage[0][1].split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), image


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_runtime_stage_runs_as_the_unprivileged_user(service: str) -> None:
    runtime = stages(DOCKER / f"{service}.Dockerfile")[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    # Nothing after USER that would need root.
    after = runtime[[k for k, _ in runtime].index("USER") + 1 :]
    assert not [k for k, _ in after if k in {"RUN", "COPY", "ADD"}]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_installs_its_dependency_group_under_the_constraints(service: str) -> None:
    runs = [rest for keyword, rest in instructions(DOCKER / f"{service}.Dockerfile") if keyword == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1
    assert "-c requirements/constraints.txt" in installs[0]
    target = f'".[{GROUP[service]}]"' if service in GROUP else '"."'
    assert installs[0].endswith(target), installs[0]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_torch_only_in_the_trainer_image(service: str) -> None:
    text = "\n".join(rest for _, rest in instructions(DOCKER / f"{service}.Dockerfile"))
    groups = [""] + ([GROUP[service]] if service in GROUP else [])
    packages = {re.split(r"[\[=<>~! ]", req, maxsplit=1)[0].lower() for g in groups for req in optional_group(g)}
    if service == "trainer":
        assert "torch" in packages
    else:
        assert "torch" not in packages and "torch" not in text


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_copies_existing_paths_and_starts_the_service(service: str) -> None:
    steps = instructions(DOCKER / f"{service}.Dockerfile")
    for keyword, rest in steps:
        if keyword == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), f"COPY source {source} does not exist"
    copied = " ".join(rest for k, rest in steps if k == "COPY")
    for other in set(SERVICES) - {service}:
        assert f"services/{other}/" not in copied
    entrypoint = [json.loads(rest) for k, rest in steps if k == "ENTRYPOINT"][-1]
    assert entrypoint == ["python", "-m", f"services.{service}"]
    exposed = [int(rest) for k, rest in steps if k == "EXPOSE"]
    assert exposed == [SERVICES[service]]
