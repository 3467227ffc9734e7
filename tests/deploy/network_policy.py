"""A small evaluator of Kubernetes NetworkPolicy ingress rules over rendered manifests.

Enough of the semantics to answer "can pod A open port P on pod B": policies select pods by
label; a pod selected by any Ingress policy only accepts what one of its rules allows; a rule
without `from` allows every source, without `ports` every port; named ports resolve through the
destination's container ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_manifests import Doc, by_kind, pod_templates, selector_matches


@dataclass(frozen=True)
class Pod:
    labels: dict[str, str]
    namespace: str
    ports: dict[str, int] = field(default_factory=dict)  # container port name -> number


def pods_of(docs: tuple[Doc, ...]) -> list[Pod]:
    """Pods the manifests will create, including the CloudNativePG instances of a Cluster."""
    pods = []
    for doc in docs:
        namespace = doc["metadata"].get("namespace", "")
        for _, template in pod_templates(doc):
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
                if "name" in p
            }
            pods.append(Pod(template["metadata"].get("labels", {}), namespace, ports))
        if doc["kind"] == "Cluster":
            labels = {"cnpg.io/cluster": doc["metadata"]["name"]}
            pods.append(Pod(labels, namespace, {"postgresql": 5432, "metrics": 9187, "status": 8000}))
    return pods


def _port_matches(rule_ports: list[dict[str, Any]] | None, dst: Pod, port: int) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        wanted = entry.get("port")
        if wanted is None or wanted == port or dst.ports.get(str(wanted)) == port:
            return True
    return False


def _peer_matches(peer: dict[str, Any], src: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return src.namespace == "<external>"
    ns_selector = peer.get("namespaceSelector")
    if ns_selector is None:
        ns_ok = src.namespace == policy_namespace
    else:
        ns_ok = src.namespace != "<external>" and selector_matches(
            ns_selector, {"kubernetes.io/metadata.name": src.namespace}
        )
    pod_selector = peer.get("podSelector")
    pod_ok = pod_selector is None or selector_matches(pod_selector, src.labels)
    return ns_ok and pod_ok


def allows(docs: tuple[Doc, ...], src: Pod, dst: Pod, port: int) -> bool:
    selecting = [
        p
        for p in by_kind(docs, "NetworkPolicy")
        if p["metadata"].get("namespace", "") == dst.namespace
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and selector_matches(p["spec"].get("podSelector") or {}, dst.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            source_ok = not peers or any(
                _peer_matches(peer, src, policy["metadata"].get("namespace", "")) for peer in peers
            )
            if source_ok and _port_matches(rule.get("ports"), dst, port):
                return True
    return False


def external_client() -> Pod:
    return Pod({}, "<external>")
