"""How a workload is declared: image tags, replicas, naked Pods, selectors, rollout strategy
(REL-004 to REL-006, REL-012, REL-017).
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import effective_replicas, parse_image, selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.reliability.common import JOB_KINDS, _name, _selected_by_service, _service_selectors


@check("REL-004")
def mutable_image_tag(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C whose image has no tag and no digest, or the tag ``latest``.

    Rule (docs/catalogue.md#rel-004): failing for a mutable reference; an explicit non-latest tag or a
    digest passes. A container without an image is reported as failing too (nothing pins it).
    """
    for w in ctx.snapshot.workloads():
        bad = []
        field = None
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image or parse_image(str(image)).mutable:
                bad.append(f"{_name(c)} ({image or 'no image'})")
                field = field or w.container_path(c, "image")
        if bad:
            message = f"mutable image reference: {', '.join(bad)}"
            yield ctx.fail(w, message, container=bad[0].split(" ")[0], details=bad, field=field)
        else:
            yield ctx.ok(w)


@check("REL-005")
def single_replica(ctx: CheckContext) -> Iterator[Result]:
    """Deployments, StatefulSets and unowned ReplicaSets with effective replicas below the threshold.

    Rule (docs/catalogue.md#rel-005): warning when effective replicas (HPA minReplicas wins) < ``min_replicas``
    (default 2). Replicas 0 is a deliberate scale-down (COST-006 looks at it): skipped. DaemonSets
    and Jobs/CronJobs have no replica count to raise: skipped. Bare Pods (REL-006) and
    ReplicationControllers are not in the row and get no result.
    """
    threshold = int(ctx.setting("min_replicas", 2))
    for w in ctx.snapshot.workloads():
        if w.kind in ("DaemonSet", *JOB_KINDS):
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"{w.kind} has no replica count")
            continue
        if w.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            continue
        replicas = effective_replicas(ctx.snapshot, w)
        if replicas == 0 or w.obj.spec.get("replicas") == 0:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "scaled to zero")
        elif replicas < threshold:
            via = " (HPA minReplicas)" if ctx.snapshot.hpa_for(w.obj) is not None else ""
            yield ctx.warn(w, f"{replicas} replica(s){via}, fewer than {threshold}", details={"replicas": replicas})
        else:
            yield ctx.ok(w)


@check("REL-006")
def naked_pod(ctx: CheckContext) -> Iterator[Result]:
    """Pods without an owner fail; controller-managed workloads pass.

    Rule (docs/catalogue.md#rel-006): failing for a Pod without ownerReferences. Mirror/static pods
    (``kubernetes.io/config.mirror``) are managed by the kubelet and pods owned by anything
    (controller or CRD) are skipped. Interpretation: an ownerReference without ``controller: true``
    also counts as owned (Kubescape and Popeye test for any ownerReference); every other top-level
    workload passes, since a controller recreates its pods.
    """
    for w in ctx.snapshot.workloads():
        if w.kind != "Pod":
            yield ctx.ok(w)
        elif "kubernetes.io/config.mirror" in w.obj.annotations:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "mirror (static) pod managed by the kubelet")
        elif w.obj.owner_refs:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "pod is owned by " + w.obj.owner_refs[0].get("kind", "?"))
        else:
            yield ctx.fail(w, "pod is not managed by a controller")


@check("REL-012")
def selector_mismatch(ctx: CheckContext) -> Iterator[Result]:
    """``spec.selector`` (full LabelSelector) against the pod-template labels.

    Rule (docs/catalogue.md#rel-012): failing on mismatch. A missing or empty selector on an apps/v1
    controller is failing too (required and non-empty there; kube-linter reports it); a Job without
    a selector passes because the Job controller generates one.
    """
    for w in ctx.snapshot.workloads():
        if w.kind not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            continue
        selector = w.obj.spec.get("selector")
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            if w.kind == "Job":
                yield ctx.ok(w)
            else:
                yield ctx.fail(w, "spec.selector is missing or empty", field="spec.selector")
        elif selector_matches(selector, w.pod_labels):
            yield ctx.ok(w)
        else:
            details = {"selector": selector, "labels": w.pod_labels}
            message = "spec.selector does not match spec.template.metadata.labels"
            yield ctx.fail(w, message, details=details, field="spec.selector")


@check("REL-017")
def unsafe_rollout(ctx: CheckContext) -> Iterator[Result]:
    """Recreate strategy on a Service-selected Deployment; spec.replicas on an HPA target (manifests).

    Rule (docs/catalogue.md#rel-017): warnings only. The replicas rule applies to manifests alone: a live
    Deployment always has spec.replicas (the API server defaults it), so it proves nothing there.
    """
    selectors = _service_selectors(ctx.snapshot)
    for w in ctx.snapshot.workloads():
        if w.kind != "Deployment":
            continue
        issues = []
        if (w.obj.spec.get("strategy") or {}).get("type") == "Recreate" and _selected_by_service(selectors, w):
            issues.append("strategy Recreate on a Deployment a Service routes to (downtime on every rollout)")
        if not ctx.live and "replicas" in w.obj.spec and ctx.snapshot.hpa_for(w.obj) is not None:
            issues.append("spec.replicas is set although an HPA manages the Deployment")
        if issues:
            yield ctx.warn(w, "; ".join(issues), details=issues)
        else:
            yield ctx.ok(w)
