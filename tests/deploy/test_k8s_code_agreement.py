"""The manifests agree with the code: every ATELIER_* variable they set is a setting the service
reads (and parses), probes hit the port the service listens on, and the grace period covers the
service's shutdown budget."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from k8s_manifests import Doc, by_kind, named, pod_specs, render
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

SETTINGS_CLASSES = {
    "gateway": "GatewaySettings",
    "community": "CommunitySettings",
    "assets": "AssetsSettings",
    "trainer": "TrainerSettings",
    "inference": "InferenceSettings",
    "webhooks": "WebhooksSettings",
}
DEFAULT_PORTS = {"gateway": 8080, "community": 8081, "assets": 8082, "trainer": 8083, "inference": 8084,
                 "webhooks": 8085}
SCHEMA_OWNERS = {"community", "assets", "trainer", "inference", "webhooks"}
PLACEHOLDER = "from-a-secret"


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    return getattr(module, SETTINGS_CLASSES[service])


def accepted_env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for field_name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, AliasPath):
            names.add(str(alias.path[0]).upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def container_env(docs: tuple[Doc, ...], container: Doc) -> dict[str, str]:
    """Name -> value as the container will see it (secret-sourced values as a placeholder)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(named(docs, "ConfigMap", source["configMapRef"]["name"]).get("data") or {})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "configMapKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = named(docs, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            env[item["name"]] = PLACEHOLDER
    return env


def service_containers(target: str) -> list[tuple[str, Doc, Doc, Doc]]:
    """(service, pod spec, container, rendered docs) for every container running an Atelier image."""
    docs = render(target)
    found = []
    for doc in docs:
        for _, spec in pod_specs(doc):
            for c in spec.get("initContainers", []) + spec["containers"]:
                image = c["image"].split("@")[0].rsplit(":", 1)[0]
                service = image.rsplit("/", 1)[-1]
                if service in SETTINGS_CLASSES:
                    found.append((service, spec, c, docs))
    return found


def load_settings(cls: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    import os

    for key in list(os.environ):
        if key.upper().startswith("ATELIER_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("ATELIER_"):
            monkeypatch.setenv(key, value)
    return cls()


@pytest.mark.parametrize("target", ["dev", "prod", "ddp"])
def test_every_atelier_variable_is_a_setting_the_service_reads(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems = []
    containers = service_containers(target)
    assert containers
    for service, _, container, docs in containers:
        cls = settings_class(service)
        env = container_env(docs, container)
        unknown = sorted(k for k in env if k.startswith("ATELIER_") and k.upper() not in accepted_env_names(cls))
        if unknown:
            problems.append(f"{service}/{container['name']}: {cls.__name__} has no setting for {unknown}")
        # And the values the manifests give parse (booleans, enums, numbers).
        load_settings(cls, env, monkeypatch)
    assert not problems, "\n".join(problems)


def _port_field(service: str) -> str:
    # The gateway may keep its port in `gateway_port`; today `http_port` reads ATELIER_GATEWAY_PORT.
    fields = settings_class(service).model_fields
    return "gateway_port" if service == "gateway" and "gateway_port" in fields else "http_port"


@pytest.mark.parametrize("service", sorted(SETTINGS_CLASSES))
def test_the_default_port_is_the_documented_one(service: str) -> None:
    assert settings_class(service).model_fields[_port_field(service)].default == DEFAULT_PORTS[service]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_probes_and_services_use_the_port_the_service_listens_on(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(target)
    for service in SETTINGS_CLASSES:
        deployment = named(docs, "Deployment", f"atelier-{service}")
        (spec,) = [s for _, s in pod_specs(deployment)]
        container = next(c for c in spec["containers"] if c["name"] == service)
        settings = load_settings(settings_class(service), container_env(docs, container), monkeypatch)
        listens = getattr(settings, _port_field(service))
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["http"] == listens == DEFAULT_PORTS[service], service
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, (service, probe)
        svc = named(docs, "Service", f"atelier-{service}")
        if service == "gateway":  # /metrics and /v1/status on the internal site, not the public port
            assert ports["metrics"] == settings.internal_port != listens and settings.internal_host == "0.0.0.0"
            assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http", "metrics"]
        else:
            assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_grace_period_covers_shutdown_budget_and_prestop(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(target)
    for service in SETTINGS_CLASSES:
        (spec,) = [s for _, s in pod_specs(named(docs, "Deployment", f"atelier-{service}"))]
        container = next(c for c in spec["containers"] if c["name"] == service)
        settings = load_settings(settings_class(service), container_env(docs, container), monkeypatch)
        command = container["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        pre_stop_s = float(command[1])
        grace = spec["terminationGracePeriodSeconds"]
        assert grace >= settings.shutdown_timeout_s + pre_stop_s + 5, (
            f"{service}: grace {grace}s < shutdown {settings.shutdown_timeout_s}s + preStop {pre_stop_s}s + 5s"
        )
        # The named stages (shared/shutdown.py) are what the process really spends: they fit too.
        stages = settings.shutdown.stages()
        assert sum(stages.values()) + pre_stop_s < grace, (service, stages, grace)


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_schema_owners_migrate_before_serving_and_only_they_get_the_database(target: str) -> None:
    docs = render(target)
    for service in SETTINGS_CLASSES:
        (spec,) = [s for _, s in pod_specs(named(docs, "Deployment", f"atelier-{service}"))]
        env_names = {e["name"] for c in spec["containers"] for e in c.get("env", [])}
        inits = spec.get("initContainers", [])
        if service in SCHEMA_OWNERS:
            assert [c["command"] for c in inits] == [["python", "-m", f"services.{service}", "--migrate-only"]]
            assert inits[0]["image"] == spec["containers"][0]["image"]
            assert "ATELIER_DATABASE_URL" in env_names
        else:
            assert not inits and "ATELIER_DATABASE_URL" not in env_names


def test_ddp_job_runs_the_trainers_ddp_entry_point_with_torchrun() -> None:
    (job,) = by_kind(render("ddp"), "PyTorchJob")
    for replica in job["spec"]["pytorchReplicaSpecs"].values():
        (container,) = replica["template"]["spec"]["containers"]
        assert container["name"] == "pytorch"  # the Training Operator looks for this name
        assert container["command"][:3] == ["torchrun", "--module", "services.trainer.ddp"]
