"""Capacity arithmetic shared by the performance, cost and sustainability checks.

Pod resource totals (the scheduler's view: max of init containers vs sum of the rest, plus
overhead), node allocatable, pods per node and per owning workload, metrics lookups.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from checks.k8s import QuantityError, container_resource, parse_quantity
from checks.snapshot import K8sObject, Snapshot

RESOURCES = ("cpu", "memory")
TERMINATED_PHASES = frozenset({"Succeeded", "Failed"})


class FieldError(ValueError):
    """A quantity the API server would reject; the message names the container and field."""

    def __init__(self, container: str, field: str, value: Any):
        self.container = container
        super().__init__(f"container {container}: unparsable quantity {value!r} in resources.{field}")


def container_name(c: dict[str, Any]) -> str:
    return c.get("name") or "?"


def read_resource(c: dict[str, Any], section: str, resource: str) -> float | None:
    """The container's ``resources[section][resource]`` in base units, None when unset."""
    raw = container_resource(c, section, resource)
    if raw is None:
        return None
    try:
        return parse_quantity(raw)
    except QuantityError:
        raise FieldError(container_name(c), f"{section}.{resource}", raw) from None


def lenient_quantity(raw: Any) -> float | None:
    """Parse a quantity from a live object (already validated by the API server); None if odd."""
    if raw is None:
        return None
    try:
        return parse_quantity(raw)
    except QuantityError:
        return None


def pod_total(pod_spec: dict[str, Any], section: str, resource: str, default_to_limit: bool = False) -> float:
    """What the scheduler accounts for a pod: max(app + sidecars, peak init) + overhead.

    ``default_to_limit`` applies the API server's pod defaulting (a request defaults to the limit),
    which live pods already carry but pod templates do not.
    """

    def value(c: dict[str, Any]) -> float:
        v = lenient_quantity(container_resource(c, section, resource))
        if v is None and default_to_limit and section == "requests":
            v = lenient_quantity(container_resource(c, "limits", resource))
        return v or 0.0

    app = sum(value(c) for c in pod_spec.get("containers") or [])
    sidecars = 0.0
    init_peak = 0.0
    for c in pod_spec.get("initContainers") or []:
        if c.get("restartPolicy") == "Always":
            sidecars += value(c)
        else:
            init_peak = max(init_peak, sidecars + value(c))
    overhead = lenient_quantity((pod_spec.get("overhead") or {}).get(resource)) or 0.0
    return max(app + sidecars, init_peak) + overhead


def active_pods_by_node(snap: Snapshot) -> dict[str, list[K8sObject]]:
    """Non-terminated pods bound to a node, indexed once by ``spec.nodeName``."""
    by_node: dict[str, list[K8sObject]] = defaultdict(list)
    for pod in snap.of_kind("Pod"):
        node = pod.spec.get("nodeName")
        if node and pod.status.get("phase") not in TERMINATED_PHASES:
            by_node[node].append(pod)
    return by_node


def allocatable(node: K8sObject) -> dict[str, float | None]:
    alloc = node.status.get("allocatable") or {}
    return {r: lenient_quantity(alloc.get(r)) for r in RESOURCES}


def pod_metrics(snap: Snapshot, namespace: str | None, name: str) -> dict[str, Any] | None:
    """Per-container usage of one pod; the contract key is the string ``"ns/pod"``."""
    pods = (snap.metrics or {}).get("pods") or {}
    return pods.get(f"{namespace}/{name}")


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def running_pods_by_owner(snap: Snapshot) -> dict[str, tuple[K8sObject, list[K8sObject]]]:
    """Running pods grouped by their top owner (the workload users manage), built once."""
    groups: dict[str, tuple[K8sObject, list[K8sObject]]] = {}
    for pod in snap.of_kind("Pod"):
        if pod.status.get("phase", "Running") != "Running":
            continue
        top = snap.top_owner(pod)
        key = f"{top.kind}/{top.namespace}/{top.name}"
        groups.setdefault(key, (top, []))[1].append(pod)
    return groups
