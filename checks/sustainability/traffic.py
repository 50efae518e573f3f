"""Network traffic: cross-zone traffic (SUS-008)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import ZONE_LABELS, effective_replicas, selector_key
from checks.model import Result, SkipReason
from checks.registry import check
from checks.sustainability.common import REPLICATED_KINDS

TOPOLOGY_ANNOTATIONS = ("service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints")


@check("SUS-008")
def cross_zone_traffic(ctx: CheckContext) -> Iterator[Result]:
    """One result per ClusterIP Service with a selector.

    Rule (docs/catalogue.md#sus-008): info finding (``warning`` row, severity info) for a Service of type
    ClusterIP (not headless) whose selected workloads total ≥ 2 effective replicas, in a multi-zone
    cluster, with neither ``spec.trafficDistribution`` nor a topology annotation (``topology-mode``
    other than Disabled, or ``topology-aware-hints: auto``) nor ``internalTrafficPolicy: Local``.
    Zones come from node labels; with no Node objects (manifests) the cluster is assumed multi-zone
    (``assume_multi_zone``, default true). Other Services are ``skipped(not-applicable)``. A
    DaemonSet counts as one replica per node (2 when nodes are unknown).
    """
    nodes = ctx.snapshot.of_kind("Node")
    zones = {n.labels.get(ZONE_LABELS[0]) or n.labels.get(ZONE_LABELS[1]) for n in nodes} - {None, ""}
    multi_zone = len(zones) > 1 if nodes else bool(ctx.setting("assume_multi_zone", True))
    # Replicas behind each distinct selector of a namespace, summed once: 4,000 Services over the
    # same 4,000 pods were 16 million workloads summed (10 s).
    replicas_of: dict[tuple[str | None, str], int] = {}
    for svc in ctx.snapshot.of_kind("Service"):
        spec = svc.spec
        if (spec.get("type") or "ClusterIP") != "ClusterIP" or spec.get("clusterIP") == "None":
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "not a ClusterIP Service with a virtual IP")
            continue
        selector = spec.get("selector")
        if not selector:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "Service has no selector")
            continue
        if not multi_zone:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "single-zone cluster")
            continue
        key = (svc.namespace, selector_key(selector))
        replicas = replicas_of.get(key)
        if replicas is None:
            selected = ctx.snapshot.select_workloads(svc.namespace, {"matchLabels": selector})
            replicas = replicas_of[key] = sum(
                (len(nodes) or 2) if w.kind == "DaemonSet" else effective_replicas(ctx.snapshot, w)
                for w in selected
                if w.kind in REPLICATED_KINDS or w.kind in ("DaemonSet", "Pod")
            )
        if replicas < 2:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, f"selects {replicas} replica(s)")
            continue
        mode = str(svc.annotations.get(TOPOLOGY_ANNOTATIONS[0], "")).lower()
        hints = str(svc.annotations.get(TOPOLOGY_ANNOTATIONS[1], "")).lower()
        if spec.get("trafficDistribution") or (mode and mode != "disabled") or hints == "auto":
            yield ctx.ok(svc)
        elif spec.get("internalTrafficPolicy") == "Local":
            yield ctx.ok(svc, "internalTrafficPolicy Local keeps traffic on the node")
        else:
            assumed = "" if nodes else " (assuming a multi-zone cluster)"
            message = f"{replicas} replicas behind a ClusterIP Service without topology-aware routing{assumed}"
            yield ctx.warn(svc, message)
