"""The message bus in Kubernetes: NATS users generated from the one declaration, a config the real
nats-server accepts (TLS in prod), every service with its own identity, and a metrics policy that
opens metrics ports only."""

from __future__ import annotations

import base64
import datetime
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from k8s_manifests import Doc, by_kind, named, pod_specs, render
from network_policy import Pod, allows, pods_of

from deploy import k8s_nats_auth
from deploy.local.nats import nats_binary
from shared.messaging.permissions import ADMIN, NAMES, env_variable

SERVICES = ("gateway", "community", "assets", "trainer", "inference", "webhooks", "market")


def test_the_committed_users_file_is_the_declaration_rendered() -> None:
    assert k8s_nats_auth.CONFIG.read_text() == k8s_nats_auth.render(), "run `python -m deploy.k8s_nats_auth`"


def _self_signed(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atelier-nats")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("atelier-nats")]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "tls.crt").write_bytes(pem)
    (directory / "ca.crt").write_bytes(pem)
    (directory / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))


def _nats_container(docs: tuple[Doc, ...]) -> Doc:
    return named(docs, "StatefulSet", "atelier-nats")["spec"]["template"]["spec"]["containers"][0]


def _secret_values(docs: tuple[Doc, ...], prefix: str) -> dict[str, str]:
    found = [s for s in by_kind(docs, "Secret") if s["metadata"]["name"].startswith(prefix)]
    return {k: base64.b64decode(v).decode() for s in found for k, v in (s.get("data") or {}).items()}


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_nats_server_accepts_the_rendered_config_and_needs_every_password(target: str, tmp_path: Path) -> None:
    docs = render(target)
    config = next(c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("atelier-nats-config"))
    for name, text in config["data"].items():
        text = text.replace("/var/run/nats/", f"{tmp_path}/").replace("/data\n", f"{tmp_path}/js\n")
        (tmp_path / name).write_text(text.replace("/etc/nats-tls/", f"{tmp_path}/"))
    _self_signed(tmp_path)
    dev_passwords = _secret_values(docs, "atelier-nats-users")
    env = {"POD_NAME": "nats-0"}
    for entry in _nats_container(docs)["env"]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["name"].startswith("atelier-nats-users"):
            env[entry["name"]] = dev_passwords.get(ref["key"], f"prod-{ref['key']}")
    assert set(env) - {"POD_NAME"} == {env_variable(n) for n in NAMES}
    if target == "dev":
        assert set(dev_passwords) == set(NAMES)

    def check(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(nats_binary()), "-c", str(tmp_path / "nats.conf"), "-t"], env=environment,
                              capture_output=True, text=True, timeout=30)

    accepted = check(env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = check({k: v for k, v in env.items() if k != env_variable("gateway")})
    assert refused.returncode != 0 and env_variable("gateway") in refused.stderr
    nats_conf = config["data"]["nats.conf"]
    assert 'include "nats-auth.conf"' in nats_conf and "no_auth_user" not in nats_conf
    assert ("tls {" in nats_conf) is (target == "prod")


def _env(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("target", ["dev", "prod", "ddp"])
def test_every_service_connects_as_its_own_identity(target: str) -> None:
    docs = render(target)
    seen = {}
    for doc in docs:
        for label, spec in pod_specs(doc):
            if "nats" in label:
                continue
            for container in spec.get("initContainers", []) + spec["containers"]:
                env = _env(container)
                if "ATELIER_NATS_USER" not in env:
                    continue
                user = env["ATELIER_NATS_USER"]["value"]
                ref = env["ATELIER_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
                assert ref["name"].startswith("atelier-nats-users") and ref["key"] == user, label
                migrates = env.get("ATELIER_NATS_MIGRATE_STREAMS", {}).get("value") == "true"
                assert (user == ADMIN) is migrates, f"{label}/{container['name']}: admin only to migrate streams"
                seen[f"{label}/{container['name']}"] = user
    if target == "ddp":
        assert set(seen.values()) == {"trainer"}
    else:
        services = {label.split("/")[1].removeprefix("atelier-"): user for label, user in seen.items()
                    if label.split("/")[-1] != "migrate"}
        assert services == {name: name for name in SERVICES}
        assert [label for label, user in seen.items() if user == ADMIN] == [
            "Deployment/atelier-community/migrate"]


def _common(docs: tuple[Doc, ...], prefix: str) -> dict[str, str]:
    found = [c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1
    return dict(found[0]["data"])


@pytest.mark.parametrize(("target", "configmap"), [("prod", "atelier-common"), ("ddp", "atelier-trainer-ddp")])
def test_prod_clients_speak_tls_and_trust_a_mounted_ca(target: str, configmap: str) -> None:
    docs = render(target)
    settings = _common(docs, configmap)
    assert settings["ATELIER_NATS_URL"].startswith("tls://")
    assert settings["ATELIER_NATS_MANAGE_STREAMS"] == "false"
    ca = Path(settings["ATELIER_NATS_TLS_CA_FILE"])
    for doc in docs:
        for label, spec in pod_specs(doc):
            secrets = {v["name"]: v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
            for container in spec.get("initContainers", []) + spec["containers"]:
                if "ATELIER_NATS_USER" not in _env(container):
                    continue
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                volume = mounts.get(str(ca.parent))
                assert volume and secrets.get(volume) == "atelier-nats-tls", f"{label}/{container['name']}"


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_monitoring_reaches_metrics_ports_only(target: str) -> None:
    docs = render(target)
    prometheus = Pod({"app": "prometheus"}, "monitoring")
    pods = {p.labels.get("app.kubernetes.io/name"): p for p in pods_of(docs) if p.labels.get("app.kubernetes.io/name")}
    for name in SERVICES:
        assert allows(docs, prometheus, pods[name], pods[name].ports["http"]), name
    assert allows(docs, prometheus, pods["triton"], pods["triton"].ports["metrics"])
    closed = [("nats", "client"), ("nats", "cluster"), ("nats", "monitor"), ("triton", "http"), ("triton", "grpc"),
              ("minio", "console")]
    for name, port in closed:
        assert not allows(docs, prometheus, pods[name], pods[name].ports[port]), f"{name}:{port} is open"
