"""Policies every rendered target must meet: resources, probes, pinned images, restricted pods,
and references (selectors, ConfigMaps, Secrets, scale targets) that resolve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from k8s_manifests import (
    TARGETS,
    Doc,
    by_kind,
    is_job_like,
    load_required_secrets,
    pod_specs,
    pod_templates,
    render,
    selector_matches,
)

ALL = sorted(TARGETS)


def containers(doc: Doc) -> Iterator[tuple[str, Doc, bool]]:
    """(label, container, is_init) of every pod template in a document."""
    for label, spec in pod_specs(doc):
        for c in spec.get("initContainers", []):
            yield f"{label}/init:{c['name']}", c, True
        for c in spec["containers"]:
            yield f"{label}/{c['name']}", c, False


def workloads(target: str) -> list[Doc]:
    return [d for d in render(target) if any(True for _ in pod_specs(d))]


@pytest.mark.parametrize("target", ALL)
def test_every_container_has_requests_limits_and_probes(target: str) -> None:
    problems = []
    for doc in workloads(target):
        for label, c, is_init in containers(doc):
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind, {}))
                if missing:
                    problems.append(f"{label}: no {kind} for {sorted(missing)}")
            # Probes do not apply to init containers or to run-to-completion pods.
            if not is_init and not is_job_like(doc):
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problems.append(f"{label}: no {probe}")
    assert not problems, "\n".join(problems)


def test_postgres_cluster_has_requests_and_limits() -> None:
    cluster = next(d for d in render("prod") if d["kind"] == "Cluster")
    assert {"cpu", "memory"} <= set(cluster["spec"]["resources"]["requests"])
    assert {"cpu", "memory"} <= set(cluster["spec"]["resources"]["limits"])


def all_images(doc: Doc) -> Iterator[tuple[str, str]]:
    for label, c, _ in containers(doc):
        yield label, c["image"]
    if doc["kind"] == "Cluster":
        yield f"Cluster/{doc['metadata']['name']}", doc["spec"]["imageName"]


@pytest.mark.parametrize("target", ALL)
def test_images_are_pinned_never_latest(target: str) -> None:
    problems = []
    for doc in render(target):
        for label, image in all_images(doc):
            name_part = image.split("@")[0]
            tag = name_part.rsplit(":", 1)[1] if ":" in name_part.split("/")[-1] else None
            if "@sha256:" not in image and (tag is None or tag == "latest"):
                problems.append(f"{label}: image {image!r} is not pinned")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("target", ALL)
def test_pods_meet_the_restricted_pod_security_standard(target: str) -> None:
    problems = []
    for doc in workloads(target):
        for label, spec in pod_specs(doc):
            pod_sc = spec.get("securityContext", {})
            if pod_sc.get("runAsNonRoot") is not True:
                problems.append(f"{label}: runAsNonRoot is not true")
            if pod_sc.get("runAsUser") == 0:
                problems.append(f"{label}: runs as uid 0")
            if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{label}: no RuntimeDefault seccomp profile")
        for label, c, _ in containers(doc):
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{label}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{label}: root filesystem is writable")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{label}: capabilities not dropped")
            if sc.get("privileged"):
                problems.append(f"{label}: privileged")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_namespace_enforces_restricted_pod_security(target: str) -> None:
    (namespace,) = by_kind(render(target), "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- references --------------------------------------------------------------------------------

def _pod_labels(docs: tuple[Doc, ...]) -> list[dict[str, str]]:
    labels = [t["metadata"].get("labels", {}) for d in docs for _, t in pod_templates(d)]
    labels += [{"cnpg.io/cluster": d["metadata"]["name"]} for d in by_kind(docs, "Cluster")]
    return labels


def _secret_refs(doc: Doc) -> Iterator[tuple[str, str, str | None]]:
    """(where, secret name, key or None) for every Secret a document points at."""
    for label, spec in pod_specs(doc):
        for c in spec.get("initContainers", []) + spec["containers"]:
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    yield f"{label}/{c['name']}/{env['name']}", ref["name"], ref["key"]
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    yield f"{label}/{c['name']}/envFrom", source["secretRef"]["name"], None
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                items = volume["secret"].get("items") or [{"key": None}]
                for item in items:
                    yield f"{label}/volume:{volume['name']}", volume["secret"]["secretName"], item["key"]
    if doc["kind"] == "Ingress":
        for tls in doc["spec"].get("tls", []):
            yield f"Ingress/{doc['metadata']['name']}/tls", tls["secretName"], "tls.crt"
    if doc["kind"] == "Cluster":
        creds = doc["spec"].get("backup", {}).get("barmanObjectStore", {}).get("s3Credentials", {})
        for field, ref in creds.items():
            if isinstance(ref, dict):
                yield f"Cluster/{doc['metadata']['name']}/{field}", ref["name"], ref["key"]


def _configmap_refs(doc: Doc) -> Iterator[tuple[str, str, str | None]]:
    for label, spec in pod_specs(doc):
        for c in spec.get("initContainers", []) + spec["containers"]:
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    yield f"{label}/{c['name']}/{env['name']}", ref["name"], ref["key"]
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    yield f"{label}/{c['name']}/envFrom", source["configMapRef"]["name"], None
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                yield f"{label}/volume:{volume['name']}", volume["configMap"]["name"], None


def _operator_secrets(docs: tuple[Doc, ...]) -> set[str]:
    """Secrets an operator creates from a rendered object (CloudNativePG: `<cluster>-app`)."""
    return {f"{d['metadata']['name']}-app" for d in by_kind(docs, "Cluster")}


@pytest.mark.parametrize("target", ALL)
def test_secret_references_resolve_with_their_keys(target: str) -> None:
    docs = render(target)
    rendered = {s["metadata"]["name"]: set((s.get("data") or {}) | (s.get("stringData") or {}))
                for s in by_kind(docs, "Secret")}
    external = load_required_secrets(target)
    problems = []
    for doc in docs:
        for where, name, key in _secret_refs(doc):
            keys = rendered.get(name, external.get(name))
            if keys is None:
                problems.append(f"{where}: Secret {name!r} is neither rendered nor listed as required")
            elif key is not None and key not in keys:
                problems.append(f"{where}: Secret {name!r} has no key {key!r}")
    assert not problems, "\n".join(problems)


def test_secrets_created_by_an_operator_have_their_operator_in_prod() -> None:
    docs = render("prod")
    operator_made = _operator_secrets(docs)
    assert "atelier-postgres-app" in operator_made
    # The dev overlay must generate the same secret the operator makes in prod.
    assert "atelier-postgres-app" in {
        s["metadata"]["name"].rsplit("-", 1)[0] for s in by_kind(render("dev"), "Secret")
    }


@pytest.mark.parametrize("target", ALL)
def test_configmap_references_resolve_with_their_keys(target: str) -> None:
    docs = render(target)
    rendered = {c["metadata"]["name"]: set(c.get("data") or {}) for c in by_kind(docs, "ConfigMap")}
    problems = []
    for doc in docs:
        for where, name, key in _configmap_refs(doc):
            if name not in rendered:
                problems.append(f"{where}: ConfigMap {name!r} not rendered")
            elif key is not None and key not in rendered[name]:
                problems.append(f"{where}: ConfigMap {name!r} has no key {key!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("target", ALL)
def test_selectors_select_something(target: str) -> None:
    docs = render(target)
    pods = _pod_labels(docs)
    problems = []
    for svc in by_kind(docs, "Service"):
        selector = {"matchLabels": svc["spec"]["selector"]}
        if not any(selector_matches(selector, labels) for labels in pods):
            problems.append(f"Service/{svc['metadata']['name']} selects no pod")
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for doc in by_kind(docs, kind):
            selector = doc["spec"].get("selector") or doc["spec"].get("podSelector") or {}
            if selector and not any(selector_matches(selector, labels) for labels in pods):
                problems.append(f"{kind}/{doc['metadata']['name']} selects no pod")
    for doc in by_kind(docs, "ServiceMonitor"):
        services = [s for s in by_kind(docs, "Service")
                    if selector_matches(doc["spec"]["selector"], s["metadata"].get("labels", {}))]
        if not services:
            problems.append(f"ServiceMonitor/{doc['metadata']['name']} selects no Service")
        pod_sets = [tuple(sorted(s["spec"]["selector"].items())) for s in services]
        if len(pod_sets) != len(set(pod_sets)):
            problems.append(f"ServiceMonitor/{doc['metadata']['name']} scrapes the same pods twice")
        for endpoint in doc["spec"]["endpoints"]:
            for svc in services:
                if endpoint["port"] not in {p.get("name") for p in svc["spec"]["ports"]}:
                    problems.append(f"ServiceMonitor/{doc['metadata']['name']}: "
                                    f"Service/{svc['metadata']['name']} has no port {endpoint['port']!r}")
    for doc in docs:
        sel = doc.get("spec", {}).get("selector") if doc["kind"] in {"Deployment", "StatefulSet"} else None
        if sel and not selector_matches(sel, doc["spec"]["template"]["metadata"]["labels"]):
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: selector misses its own template")
    assert not problems, "\n".join(problems)


def _scale_targets(doc: Doc) -> Iterator[dict[str, Any]]:
    if doc["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}:
        yield doc["spec"]["scaleTargetRef"]


@pytest.mark.parametrize("target", ALL)
def test_scale_targets_and_other_object_references_resolve(target: str) -> None:
    docs = render(target)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    problems = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for ref in _scale_targets(doc):
            kind = ref.get("kind", "Deployment")
            if (kind, ref["name"]) not in names:
                problems.append(f"{where}: scale target {kind}/{ref['name']} not rendered")
        if doc["kind"] == "ScheduledBackup" and ("Cluster", doc["spec"]["cluster"]["name"]) not in names:
            problems.append(f"{where}: cluster {doc['spec']['cluster']['name']} not rendered")
        if doc["kind"] == "Ingress":
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    svc = path["backend"]["service"]
                    if ("Service", svc["name"]) not in names:
                        problems.append(f"{where}: backend Service {svc['name']} not rendered")
        if doc["kind"] == "StatefulSet" and ("Service", doc["spec"]["serviceName"]) not in names:
            problems.append(f"{where}: governing Service {doc['spec']['serviceName']} not rendered")
        for label, spec in pod_specs(doc):
            account = spec.get("serviceAccountName")
            if account and ("ServiceAccount", account) not in names:
                problems.append(f"{label}: ServiceAccount {account} not rendered")
    assert not problems, "\n".join(problems)


def test_every_autoscaled_deployment_leaves_replicas_to_its_autoscaler() -> None:
    docs = render("prod")
    targets = {ref["name"] for d in docs for ref in _scale_targets(d)}
    assert targets == {"atelier-gateway", "atelier-community", "atelier-inference", "atelier-trainer",
                       "atelier-triton"}
    for doc in by_kind(docs, "Deployment"):
        if doc["metadata"]["name"] in targets:
            assert "replicas" not in doc["spec"], doc["metadata"]["name"]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_workload_has_a_disruption_budget(target: str) -> None:
    docs = render(target)
    budgets = by_kind(docs, "PodDisruptionBudget")
    for doc in docs:
        if doc["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        labels = doc["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets if selector_matches(b["spec"]["selector"], labels)]
        if labels.get("app.kubernetes.io/name") == "postgres":
            continue  # dev's single PostgreSQL; CloudNativePG manages its own budgets in prod
        assert matching, f"{doc['kind']}/{doc['metadata']['name']} has no PodDisruptionBudget"
