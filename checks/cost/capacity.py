"""Cluster-level spend: StorageClass settings and idle capacity (COST-012, COST-013)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.cost.common import _quantity
from checks.k8s import container_resource
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject

_EBS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")


_ZONAL = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "pd.csi.storage.gke.io", "kubernetes.io/gce-pd",
          "disk.csi.azure.com", "kubernetes.io/azure-disk", "cinder.csi.openstack.org", "kubernetes.io/cinder")


_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def _zonal(provisioner: str, params: dict[str, Any]) -> bool:
    if provisioner not in _ZONAL:
        return False
    if "regional" in str(params.get("replication-type", "")).lower():
        return False  # GCE regional PD replicates across two zones
    return "zrs" not in str(params.get("skuName", params.get("skuname", ""))).lower()  # Azure zone-redundant


@check("COST-012")
def storage_class_cost(ctx: CheckContext) -> Iterator[Result]:
    """Warn on EBS ``type: gp2`` (also the in-tree ``kubernetes.io/aws-ebs`` default when type is unset),
    on a default class with ``reclaimPolicy: Retain``, and on ``volumeBindingMode: Immediate`` (the default
    when unset) for zonal block storage (EBS, GCE PD except regional, Azure Disk except ZRS, Cinder).
    """
    for sc in ctx.snapshot.of_kind("StorageClass"):
        provisioner = sc.raw.get("provisioner") or ""
        params = sc.raw.get("parameters") or {}
        problems: list[str] = []
        if provisioner in _EBS:
            volume_type = str(params.get("type") or ("gp2" if provisioner == "kubernetes.io/aws-ebs" else "gp3"))
            if volume_type.lower() == "gp2":
                problems.append("EBS type gp2: gp3 is ~20% cheaper with better baseline performance")
        is_default = any(str(sc.annotations.get(a, "")).lower() == "true" for a in _DEFAULT_CLASS)
        if is_default and sc.raw.get("reclaimPolicy") == "Retain":
            problems.append("default StorageClass with reclaimPolicy Retain: deleted claims leave billed volumes")
        if _zonal(provisioner, params) and (sc.raw.get("volumeBindingMode") or "Immediate") == "Immediate":
            problems.append("volumeBindingMode Immediate on zonal storage: use WaitForFirstConsumer")
        if problems:
            yield ctx.warn(sc, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(sc)


def _pod_requests(pod_spec: dict[str, Any]) -> tuple[float, float]:
    """Effective pod request (cores, bytes): max(Σ long-running, largest init step) + overhead."""

    def req(c: dict[str, Any], resource: str) -> float:
        return _quantity(container_resource(c, "requests", resource)) or 0.0

    out = []
    for resource in ("cpu", "memory"):
        inits = pod_spec.get("initContainers") or []
        sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
        regular = sum(req(c, resource) for c in pod_spec.get("containers") or [])
        running = regular + sum(req(c, resource) for c in sidecars)
        init_peak = 0.0
        started = 0.0
        for c in inits:
            if c.get("restartPolicy") == "Always":
                started += req(c, resource)
            else:
                init_peak = max(init_peak, started + req(c, resource))
        overhead = _quantity((pod_spec.get("overhead") or {}).get(resource)) or 0.0
        out.append(max(running, init_peak) + overhead)
    return out[0], out[1]


def _is_control_plane(node: K8sObject) -> bool:
    labels = node.labels
    return "node-role.kubernetes.io/control-plane" in labels or "node-role.kubernetes.io/master" in labels


@check("COST-013")
def idle_capacity(ctx: CheckContext) -> Iterator[Result]:
    """One cluster-level result: warning when Σ pod requests is below ``idle_capacity_ratio`` (default 0.5)
    of Σ allocatable, for CPU or memory, over schedulable nodes.

    Schedulable excludes cordoned nodes and control-plane nodes (their capacity is not for workloads);
    pods count when bound to such a node and not Succeeded/Failed.
    """
    ratio = float(ctx.setting("idle_capacity_ratio", 0.5))
    nodes = {
        n.name: n for n in ctx.snapshot.of_kind("Node") if not n.spec.get("unschedulable") and not _is_control_plane(n)
    }
    if not nodes:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no schedulable worker nodes")
        return
    alloc = Counter()
    for node in nodes.values():
        allocatable = node.status.get("allocatable") or {}
        alloc["cpu"] += _quantity(allocatable.get("cpu")) or 0.0
        alloc["memory"] += _quantity(allocatable.get("memory")) or 0.0
    used = Counter()
    for pod in ctx.snapshot.of_kind("Pod"):
        if pod.spec.get("nodeName") not in nodes or pod.status.get("phase") in ("Succeeded", "Failed"):
            continue
        cpu, mem = _pod_requests(pod.spec)
        used["cpu"] += cpu
        used["memory"] += mem
    shares = {r: (used[r] / alloc[r] if alloc[r] else None) for r in ("cpu", "memory")}
    details = {"nodes": len(nodes), "requested": dict(used), "allocatable": dict(alloc), "ratio": shares}
    low = [f"{r} {s:.0%}" for r, s in shares.items() if s is not None and s < ratio]
    if low:
        yield ctx.warn(None, f"requests use only {', '.join(low)} of allocatable capacity on {len(nodes)} node(s)",
                       details=details)
    else:
        yield ctx.ok(None, "requested share of allocatable: "
                     + ", ".join(f"{r} {s:.0%}" for r, s in shares.items() if s is not None), details=details)
