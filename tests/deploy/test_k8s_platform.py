"""What the issue asks of the platform: GPUs where they are needed, Triton locked down, scaling on
JetStream lag, and network paths limited to who needs them."""

from __future__ import annotations

import pytest
from k8s_manifests import Doc, by_kind, named, pod_specs, render
from network_policy import Pod, allows, external_client, pods_of

SERVICES = ["gateway", "community", "assets", "trainer", "inference", "webhooks", "market"]
SCHEMA_OWNERS = {"community", "assets", "trainer", "inference", "webhooks", "market"}


def _gpu_limit(spec: Doc) -> int:
    return sum(int(c["resources"]["limits"].get("nvidia.com/gpu", 0)) for c in spec["containers"])


def _on_gpu_nodes(spec: Doc) -> bool:
    tolerated = any(t.get("key") == "nvidia.com/gpu" for t in spec.get("tolerations", []))
    return tolerated and spec.get("nodeSelector", {}).get("nvidia.com/gpu.present") == "true"


def test_prod_puts_triton_training_and_ddp_on_gpus_and_nothing_else() -> None:
    docs = render("prod") + render("ddp")
    on_gpu = set()
    for doc in docs:
        for label, spec in pod_specs(doc):
            if _gpu_limit(spec):
                assert _on_gpu_nodes(spec), f"{label} asks for a GPU but cannot land on a GPU node"
                for c in spec["containers"]:
                    gpus = c["resources"]["limits"].get("nvidia.com/gpu")
                    assert c["resources"]["requests"].get("nvidia.com/gpu", gpus) == gpus
                on_gpu.add(label.split("/")[1])
    assert on_gpu == {"atelier-triton", "atelier-trainer", "atelier-train-ddp"}


def test_dev_runs_on_cpu_with_one_replica_each() -> None:
    docs = render("dev")
    for doc in docs:
        for label, spec in pod_specs(doc):
            assert _gpu_limit(spec) == 0, label
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            assert doc["spec"]["replicas"] == 1, doc["metadata"]["name"]
    assert not [d for d in docs if d["kind"] in {"ScaledObject", "HorizontalPodAutoscaler"}]


def test_prod_replicates_its_infrastructure() -> None:
    docs = render("prod")
    assert named(docs, "StatefulSet", "atelier-nats")["spec"]["replicas"] == 3
    assert named(docs, "StatefulSet", "atelier-minio")["spec"]["replicas"] >= 4
    assert named(docs, "Cluster", "atelier-postgres")["spec"]["instances"] == 3
    # Triton's replicas belong to its ScaledObject, never below two.
    assert "replicas" not in named(docs, "Deployment", "atelier-triton")["spec"]
    assert named(docs, "ScaledObject", "atelier-triton")["spec"]["minReplicaCount"] >= 2
    nats_conf = next(c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("atelier-nats-config"))
    assert nats_conf["data"]["nats.conf"].count("nats://atelier-nats-") == 3
    # The services create streams and KV buckets with as many replicas as there are NATS nodes.
    common = next(c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("atelier-common"))
    assert common["data"]["ATELIER_NATS_REPLICAS"] == "3"
    for name in ("atelier-nats", "atelier-minio"):
        claims = named(docs, "StatefulSet", name)["spec"]["volumeClaimTemplates"]
        assert claims and claims[0]["spec"]["resources"]["requests"]["storage"]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_triton_serves_from_the_object_store_with_a_restricted_management_api(target: str) -> None:
    docs = render(target)
    (spec,) = [s for _, s in pod_specs(named(docs, "Deployment", "atelier-triton"))]
    (triton,) = spec["containers"]
    args = triton["args"]
    assert "--model-control-mode=explicit" in args
    assert "--http-restricted-api=model-repository:admin-key=$(TRITON_ADMIN_TOKEN)" in args
    assert "--grpc-restricted-protocol=model-repository:admin-key=$(TRITON_ADMIN_TOKEN)" in args
    env = {e["name"]: e for e in triton["env"]}
    assert env["TRITON_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]["name"].startswith("atelier-triton-admin")
    repo_ref = env["TRITON_MODEL_REPOSITORY"]["valueFrom"]["configMapKeyRef"]
    repo = named(docs, "ConfigMap", repo_ref["name"])["data"][repo_ref["key"]]
    assert repo.startswith("s3://") and repo.endswith("/models")
    assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    # The inference service sends the same token the server was started with.
    (inference_spec,) = [s for _, s in pod_specs(named(docs, "Deployment", "atelier-inference"))]
    token = {e["name"]: e for e in inference_spec["containers"][0]["env"]}["ATELIER_TRITON_ADMIN_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == env["TRITON_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]


def test_triton_metrics_are_scraped() -> None:
    docs = render("prod")
    monitor = named(docs, "ServiceMonitor", "atelier-triton")
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    ports = {p["name"]: p["port"] for p in named(docs, "Service", "atelier-triton")["spec"]["ports"]}
    assert ports["metrics"] == 8002


@pytest.mark.parametrize(
    ("deployment", "consumer", "min_replicas"),
    [("atelier-inference", "inference-generate", 1), ("atelier-trainer", "trainer-train", 0)],
)
def test_job_workers_scale_on_their_jetstream_consumer_lag(
    deployment: str, consumer: str, min_replicas: int
) -> None:
    docs = render("prod")
    (scaled,) = [s for s in by_kind(docs, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == deployment]
    spec = scaled["spec"]
    (trigger,) = spec["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "nats-jetstream"
    assert (meta["stream"], meta["consumer"]) == ("JOBS", consumer)
    host, port = meta["natsServerMonitoringEndpoint"].split(":")
    service, namespace = host.split(".")[:2]
    nats = named(docs, "Service", service)
    assert namespace == nats["metadata"]["namespace"]
    assert int(port) in {p["port"] for p in nats["spec"]["ports"] if p["name"] == "monitor"}
    assert spec["minReplicaCount"] == min_replicas < spec["maxReplicaCount"]
    assert int(meta["lagThreshold"]) >= 1 and int(meta["activationLagThreshold"]) >= 0
    assert spec["cooldownPeriod"] >= 300
    # KEDA reads the lag from NATS' monitoring port: the NetworkPolicy must let it in.
    keda = Pod({"app": "keda-operator"}, "keda")
    nats_pod = next(p for p in pods_of(docs) if p.labels.get("app.kubernetes.io/name") == "nats")
    assert allows(docs, keda, nats_pod, int(port))


def test_training_scales_to_zero_within_the_gpu_budget() -> None:
    docs = render("prod")
    scaled = named(docs, "ScaledObject", "atelier-trainer")["spec"]
    assert scaled["minReplicaCount"] == 0
    assert int(scaled["triggers"][0]["metadata"]["lagThreshold"]) == 1  # one job per GPU pod
    (spec,) = [s for _, s in pod_specs(named(docs, "Deployment", "atelier-trainer"))]
    assert _gpu_limit(spec) == 1
    # A scale-down can stop a pod mid-job: its grace period covers a checkpoint (see docs).
    assert spec["terminationGracePeriodSeconds"] >= 60


def test_gateway_and_community_have_cpu_autoscalers() -> None:
    docs = render("prod")
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(docs, "HorizontalPodAutoscaler")}
    assert set(targets) == {"atelier-gateway", "atelier-community"}
    for hpa in targets.values():
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


# --- network paths -----------------------------------------------------------------------------

def _pod(docs: tuple[Doc, ...], name: str) -> Pod:
    return next(p for p in pods_of(docs) if p.labels.get("app.kubernetes.io/name") == name)


def _service_pods(docs: tuple[Doc, ...]) -> dict[str, Pod]:
    return {name: _pod(docs, name) for name in SERVICES}


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_only_the_gateway_is_reachable_from_outside(target: str) -> None:
    docs = render(target)
    outside = external_client()
    reachable = {
        p.labels.get("app.kubernetes.io/name", str(p.labels))
        for p in pods_of(docs)
        if any(allows(docs, outside, p, port) for port in p.ports.values())
    }
    assert reachable == {"gateway"}
    assert not [s for s in by_kind(docs, "Service") if s["spec"].get("type") in {"LoadBalancer", "NodePort"}]
    ingress_backends = {
        path["backend"]["service"]["name"]
        for ing in by_kind(docs, "Ingress") for rule in ing["spec"]["rules"] for path in rule["http"]["paths"]
    }
    assert ingress_backends <= {"atelier-gateway"}


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_database_only_from_services_that_own_schemas(target: str) -> None:
    docs = render(target)
    labels = {"cnpg.io/cluster": "atelier-postgres"} if target == "prod" else {"app.kubernetes.io/name": "postgres"}
    db = next(p for p in pods_of(docs) if labels.items() <= p.labels.items())
    allowed = {name for name, pod in _service_pods(docs).items() if allows(docs, pod, db, 5432)}
    assert allowed == SCHEMA_OWNERS
    assert not allows(docs, _pod(docs, "triton"), db, 5432)
    assert not allows(docs, _pod(docs, "nats"), db, 5432)


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_triton_management_ports_only_from_inference(target: str) -> None:
    docs = render(target)
    triton = _pod(docs, "triton")
    for port in (triton.ports["http"], triton.ports["grpc"]):
        allowed = {name for name, pod in _service_pods(docs).items() if allows(docs, pod, triton, port)}
        assert allowed == {"inference"}
    prometheus = Pod({"app": "prometheus"}, "monitoring")
    assert allows(docs, prometheus, triton, triton.ports["metrics"])


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_service_reaches_nats(target: str) -> None:
    docs = render(target)
    nats = _pod(docs, "nats")
    assert all(allows(docs, pod, nats, nats.ports["client"]) for pod in _service_pods(docs).values())
    assert not allows(docs, _pod(docs, "triton"), nats, nats.ports["client"])


def test_prod_serves_generations_on_the_gpu_with_onnx_runtime() -> None:
    docs = render("prod")
    env = {e["name"]: e.get("value") for c in named(docs, "Deployment", "atelier-inference")["spec"]["template"]
           ["spec"]["containers"] if c["name"] == "inference" for e in c.get("env", [])}
    assert env["ATELIER_TRITON_INSTANCE_KIND"] == "KIND_GPU"
    assert env["ATELIER_TRITON_MODEL_BACKEND"] == "onnxruntime"
    assert env["ATELIER_TRITON_EXECUTION_PROVIDER"] in ("cuda", "tensorrt")
    triton = named(docs, "Deployment", "atelier-triton")["spec"]["template"]["spec"]
    assert triton["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
