"""Helpers shared by more than one reliability topic module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from checks.context import CheckContext
from checks.k8s import selector_key, service_selector_matches
from checks.model import Result, Status
from checks.snapshot import Snapshot, Workload

JOB_KINDS = ("Job", "CronJob")


SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _name(c: dict[str, Any]) -> str:
    return c.get("name") or "?"


def _service_selectors(snap: Snapshot) -> set[int]:
    """The workloads (by ``id`` of their object) that some Service in their namespace routes to:
    a selector that is not empty, on a Service that is not ExternalName. Built once per check run.

    Found through the snapshot's label index (each distinct selector once, from its rarest label),
    not by trying every Service's selector on every workload: one namespace of 16,000 pods and
    4,000 Services took 33 s that way, past the check's 30 s budget."""
    routed: set[int] = set()
    seen: set[tuple[str | None, str]] = set()
    for svc in snap.of_kind("Service"):
        selector = svc.spec.get("selector")
        if not selector or not isinstance(selector, dict) or svc.spec.get("type") == "ExternalName":
            continue
        key = (svc.namespace, selector_key(selector))
        if key in seen:
            continue
        seen.add(key)
        for w in snap.select_workloads(svc.namespace, {"matchLabels": selector}):
            if service_selector_matches(selector, w.pod_labels):  # the Service's own rule decides
                routed.add(id(w.obj))
    return routed


def _selected_by_service(routed: set[int], w: Workload) -> bool:
    return id(w.obj) in routed


def _missing(ctx: CheckContext, subject: Any, message: str, **kw: Any) -> Result:
    """A referenced object is absent: a fact on a live cluster, only a suspicion on manifests.

    The manifest downgrade of docs/catalogue.md#conventions.
    """
    if ctx.live:
        return ctx.fail(subject, message, **kw)
    return ctx.warn(subject, message + " (not in the assessed manifests; it may be created elsewhere)", **kw)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _worst(issues: list[tuple[Status, str]]) -> Status:
    statuses = {s for s, _ in issues}
    for s in (Status.FAILING, Status.WARNING):
        if s in statuses:
            return s
    return Status.PASSING


def _report(ctx: CheckContext, subject: Any, issues: list[tuple[Status, str]], **kw: Any) -> Result:
    """One row per subject with the worst status; the message lists the issues of that status."""
    if not issues:
        return ctx.ok(subject)
    worst = _worst(issues)
    message = "; ".join(m for s, m in issues if s is worst)
    return ctx.result(subject, worst, message, details=[m for _, m in issues], **kw)
