"""Each kustomize target renders with the pinned kustomize and every document is schema-valid."""

from __future__ import annotations

import pytest
from k8s_manifests import (
    KUBERNETES_VERSIONS,
    KUSTOMIZE_VERSION,
    TARGETS,
    kustomize_version,
    render,
    validation_errors,
)


def test_the_pinned_kustomize_renders() -> None:
    assert kustomize_version() == KUSTOMIZE_VERSION


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_document_is_schema_valid(target: str, version: str) -> None:
    docs = render(target)
    assert docs, f"{target} rendered nothing"
    errors = [line for doc in docs for line in validation_errors(doc, version)]
    assert not errors, "\n".join(errors)


def test_an_unknown_kind_fails_validation() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validation_errors(doc, KUBERNETES_VERSIONS[0]) == [
        "Widget/w: unknown kind example.com/v1/Widget (no schema)"
    ]


def test_all_schema_errors_are_listed_not_just_the_first() -> None:
    deployment = next(d for d in render("dev") if d["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two", "bogus": 1}}
    errors = validation_errors(broken, KUBERNETES_VERSIONS[0])
    assert len(errors) >= 2, errors
    assert any("replicas" in e for e in errors) and any("bogus" in e for e in errors)


def test_a_typo_in_a_custom_resource_fails_validation() -> None:
    scaled = next(d for d in render("prod") if d["kind"] == "ScaledObject")
    broken = {**scaled, "spec": {**scaled["spec"], "minReplicas": 0}}
    assert validation_errors(broken, KUBERNETES_VERSIONS[0])


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_objects_are_unique_and_namespaced_by_the_overlay(target: str) -> None:
    docs = render(target)
    keys = [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(keys) == len(set(keys))
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {"atelier-dev" if target == "dev" else "atelier"}
