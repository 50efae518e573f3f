"""Pod-spec building blocks: hardened security contexts, probes, resources, and the API defaults.

Scenes write pod specs the way a manifest author would (``ctr``, ``http_probe``, ``res``);
``default_pod_spec`` then fills in what the API server adds on write, so the dump reads like
``kubectl get -o yaml`` output rather than like the manifest.
"""

from __future__ import annotations

import copy
from typing import Any

from .world import Obj

RESTRICTED_POD_SC = {
    "fsGroup": 10001,
    "runAsGroup": 10001,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CTR_SC = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}


def http_probe(
    path: str, port: str | int = "http", *, initial: int = 0, period: int = 10, failure: int = 3, scheme: str = "HTTP"
) -> Obj:
    probe: Obj = {
        "failureThreshold": failure,
        "httpGet": {"path": path, "port": port, "scheme": scheme},
        "periodSeconds": period,
        "successThreshold": 1,
        "timeoutSeconds": 1,
    }
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def tcp_probe(port: str | int, *, initial: int = 0, period: int = 10) -> Obj:
    probe: Obj = {
        "failureThreshold": 3,
        "periodSeconds": period,
        "successThreshold": 1,
        "tcpSocket": {"port": port},
        "timeoutSeconds": 1,
    }
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def res(
    cpu: str | None = None, mem: str | None = None, cpu_limit: str | None = None, mem_limit: str | None = None
) -> Obj:
    out: Obj = {}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    limits = {k: v for k, v in (("cpu", cpu_limit), ("memory", mem_limit)) if v}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def ctr(name: str, image: str, **fields: Any) -> Obj:
    c: Obj = {"name": name, "image": image}
    c.update(fields)
    return c


def default_container(c: Obj) -> Obj:
    """Fields the API server defaults on every container."""
    c = copy.deepcopy(c)
    if "imagePullPolicy" not in c:
        image = c["image"].split("@")[0]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        c["imagePullPolicy"] = "Always" if tag in ("", "latest") else "IfNotPresent"
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    c.setdefault("resources", {})
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    return c


def default_pod_spec(spec: Obj, *, restart: str = "Always") -> Obj:
    """A pod-template spec as the API server stores it (defaults filled in)."""
    spec = copy.deepcopy(spec)
    spec["containers"] = [default_container(c) for c in spec["containers"]]
    if spec.get("initContainers"):
        spec["initContainers"] = [default_container(c) for c in spec["initContainers"]]
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for vol in spec.get("volumes") or []:
        if "configMap" in vol:
            vol["configMap"].setdefault("defaultMode", 420)
        if "secret" in vol:
            vol["secret"].setdefault("defaultMode", 420)
        if "hostPath" in vol:
            vol["hostPath"].setdefault("type", "")
    return spec


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def qos_class(containers: list[Obj]) -> str:
    any_set = False
    guaranteed = True
    for c in containers:
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        if req or lim:
            any_set = True
        for key in ("cpu", "memory"):
            if key not in lim or req.get(key, lim.get(key)) != lim.get(key):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# ---- the cluster ----------------------------------------------------------------------------------
