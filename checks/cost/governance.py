"""Cost governance per namespace: ResourceQuota, LimitRange, cost-allocation labels
(COST-009 to COST-011).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject, Snapshot, Workload


def _subject_namespace(ctx: CheckContext, obj: K8sObject | Workload) -> str | None:
    return obj.namespace or ctx.setting("manifest_namespace")


def _namespace_subject(snap: Snapshot, ns: str | None) -> K8sObject:
    """The Namespace object, or a stand-in when the run has objects in a namespace it does not define."""
    existing = snap.get("Namespace", None, ns or "")
    if existing is not None:
        return existing
    name = ns or "(namespace not set)"
    return K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, source="")


def _workload_namespaces(ctx: CheckContext) -> dict[str | None, list[Workload]]:
    out: dict[str | None, list[Workload]] = defaultdict(list)
    for w in ctx.snapshot.workloads():
        out[_subject_namespace(ctx, w)].append(w)
    return out


def _namespace_subjects(ctx: CheckContext) -> Iterator[tuple[K8sObject, str | None, bool]]:
    """``(subject, namespace, has_workloads)`` for every namespace with workloads or a Namespace object."""
    with_workloads = _workload_namespaces(ctx)
    seen: set[str | None] = set()
    for ns in with_workloads:
        seen.add(ns)
        yield _namespace_subject(ctx.snapshot, ns), ns, True
    for obj in ctx.snapshot.of_kind("Namespace"):
        if obj.name not in seen:
            yield obj, obj.name, False


_QUOTA_KEYS = {"requests.cpu": ("requests.cpu", "cpu"), "requests.memory": ("requests.memory", "memory"),
               "limits.memory": ("limits.memory",)}


@check("COST-009")
def namespace_quota(ctx: CheckContext) -> Iterator[Result]:
    """Warn for each namespace holding workloads that has no ResourceQuota, or whose quotas together do not
    cap ``requests.cpu``, ``requests.memory`` and ``limits.memory`` (``cpu``/``memory`` are aliases of the
    requests keys). Namespaces without workloads are skipped (not-applicable).
    """
    quotas: dict[str | None, list[K8sObject]] = defaultdict(list)
    for q in ctx.snapshot.of_kind("ResourceQuota"):
        quotas[_subject_namespace(ctx, q)].append(q)
    for subject, ns, has_workloads in _namespace_subjects(ctx):
        if not has_workloads:
            yield ctx.skip(subject, SkipReason.NOT_APPLICABLE, "namespace has no workloads")
            continue
        found = quotas.get(ns) or []
        if not found:
            yield ctx.warn(subject, "namespace has workloads but no ResourceQuota")
            continue
        hard = set()
        for q in found:
            hard.update((q.spec.get("hard") or {}).keys())
        missing = [key for key, aliases in _QUOTA_KEYS.items() if not hard.intersection(aliases)]
        if missing:
            yield ctx.warn(subject, f"ResourceQuota does not cap {', '.join(missing)}", details=missing)
        else:
            yield ctx.ok(subject)


@check("COST-010")
def namespace_limit_range(ctx: CheckContext) -> Iterator[Result]:
    """Warn for each namespace holding workloads without a LimitRange whose ``type: Container`` item sets both
    ``default`` and ``defaultRequest``. Namespaces without workloads are skipped (not-applicable), as in
    COST-009.
    """
    good: set[str | None] = set()
    present: set[str | None] = set()
    for lr in ctx.snapshot.of_kind("LimitRange"):
        ns = _subject_namespace(ctx, lr)
        present.add(ns)
        for item in lr.spec.get("limits") or []:
            if item.get("type") == "Container" and item.get("default") and item.get("defaultRequest"):
                good.add(ns)
    for subject, ns, has_workloads in _namespace_subjects(ctx):
        if not has_workloads:
            yield ctx.skip(subject, SkipReason.NOT_APPLICABLE, "namespace has no workloads")
        elif ns in good:
            yield ctx.ok(subject)
        elif ns in present:
            yield ctx.warn(subject, "LimitRange has no Container item with both default and defaultRequest")
        else:
            yield ctx.warn(subject, "namespace has workloads but no LimitRange")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@check("COST-011")
def cost_labels(ctx: CheckContext) -> Iterator[Result]:
    """Warn listing missing keys: every key of ``cost_labels`` plus one of ``cost_owner_labels``.

    Workload labels count from the object or its pod template (cost tools read pod labels). An owner label
    on the workload's Namespace object covers the workload, since the tools fall back to namespace labels.
    Namespaces are checked for the owner label only: ``app.kubernetes.io/name`` describes an application,
    not a namespace.
    """
    required = _as_list(ctx.setting("cost_labels", ["app.kubernetes.io/name"]))
    owners = _as_list(ctx.setting("cost_owner_labels", ["team", "owner", "cost-center"]))
    ns_labels = {ns.name: ns.labels for ns in ctx.snapshot.of_kind("Namespace")}
    owner_text = "one of " + "/".join(owners)
    for w in ctx.snapshot.workloads():
        labels = {**w.pod_labels, **w.obj.labels}
        missing = [k for k in required if k not in labels]
        inherited = ns_labels.get(w.namespace or "", {})
        if owners and not any(k in labels or k in inherited for k in owners):
            missing.append(owner_text)
        if missing:
            yield ctx.warn(w, f"missing cost-allocation label(s): {', '.join(missing)}", details=missing)
        else:
            yield ctx.ok(w)
    for ns in ctx.snapshot.of_kind("Namespace"):
        if owners and not any(k in ns.labels for k in owners):
            yield ctx.warn(ns, f"namespace has no owner label ({owner_text})", details=[owner_text])
        else:
            yield ctx.ok(ns)
