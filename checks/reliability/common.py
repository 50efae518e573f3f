"""Helpers shared by more than one reliability topic module."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from checks.context import CheckContext
from checks.k8s import service_selector_matches
from checks.model import Result, Status
from checks.snapshot import Snapshot, Workload

JOB_KINDS = ("Job", "CronJob")


SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _name(c: dict[str, Any]) -> str:
    return c.get("name") or "?"


def _service_selectors(snap: Snapshot) -> dict[str | None, list[dict[str, str]]]:
    """Per namespace, the selectors of Services that route to pods (built once per check run)."""
    out: dict[str | None, list[dict[str, str]]] = defaultdict(list)
    for svc in snap.of_kind("Service"):
        selector = svc.spec.get("selector")
        if selector and svc.spec.get("type") != "ExternalName":
            out[svc.namespace].append(selector)
    return out


def _selected_by_service(selectors: dict[str | None, list[dict[str, str]]], w: Workload) -> bool:
    labels = w.pod_labels
    return any(service_selector_matches(sel, labels) for sel in selectors.get(w.namespace, ()))


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
