"""Health probes: readiness, liveness, and probes that are set but wrong (REL-001 to REL-003)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result, SkipReason, Status
from checks.registry import check
from checks.reliability.common import JOB_KINDS, _name, _report, _selected_by_service, _service_selectors

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


@check("REL-001")
def readiness_probe_missing(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C* without a readinessProbe.

    Rule (docs/catalogue.md#rel-001): failing when the workload is selected by a Service in its namespace
    (traffic reaches unready pods), warning when no Service selects it (nothing routes to it yet).
    Jobs and CronJobs run to completion and are not load-balanced: skipped. Plain init containers
    are not in C* and are never evaluated.
    """
    selectors = _service_selectors(ctx.snapshot)
    for w in ctx.snapshot.workloads():
        if w.kind in JOB_KINDS:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Jobs and CronJobs are not load-balanced")
            continue
        bad = [_name(c) for c in w.long_running_containers() if not c.get("readinessProbe")]
        names = ", ".join(bad)
        if not bad:
            yield ctx.ok(w)
        elif _selected_by_service(selectors, w):
            message = f"no readinessProbe and a Service routes to it: {names}"
            yield ctx.fail(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "readinessProbe"))
        else:
            message = f"no readinessProbe (no Service selects it): {names}"
            yield ctx.warn(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "readinessProbe"))


@check("REL-002")
def liveness_probe_missing(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C* without a livenessProbe: warning only.

    Rule (docs/catalogue.md#rel-002): a missing liveness probe is a warning, never failing, because a
    wrong liveness probe (restart storms under load) is worse than none (kube-score
    README_PROBES.md). Jobs and CronJobs are skipped.
    """
    for w in ctx.snapshot.workloads():
        if w.kind in JOB_KINDS:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Jobs and CronJobs run to completion")
            continue
        bad = [_name(c) for c in w.long_running_containers() if not c.get("livenessProbe")]
        if bad:
            message = f"no livenessProbe: {', '.join(bad)}"
            yield ctx.warn(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "livenessProbe"))
        else:
            yield ctx.ok(w)


@check("REL-003")
def probe_misconfiguration(ctx: CheckContext) -> Iterator[Result]:
    """Identical liveness/readiness probes and probes on undeclared ports, over C*.

    Rule (docs/catalogue.md#rel-003): failing when livenessProbe == readinessProbe (the whole probe, as
    kube-score compares it); failing when an httpGet/tcpSocket/grpc port *name* is not a named port
    of the same container (the kubelet cannot resolve it); warning when a numeric probe port is not
    a declared containerPort (it may still work, the declaration is informational).
    """
    for w in ctx.snapshot.workloads():
        issues: list[tuple[Status, str]] = []
        first: str | None = None
        for c in w.long_running_containers():
            cname = _name(c)
            ports = c.get("ports") or []
            names = {p.get("name") for p in ports if p.get("name")}
            numbers = {str(p.get("containerPort")) for p in ports if p.get("containerPort") is not None}
            found: list[tuple[Status, str]] = []
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            if live and ready and live == ready:
                found.append((Status.FAILING, f"{cname}: livenessProbe is identical to readinessProbe"))
            for probe_name in PROBES:
                probe = c.get(probe_name) or {}
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    port = (probe.get(handler) or {}).get("port")
                    if port is None:
                        continue
                    text = str(port)
                    if text.isdigit():
                        if text not in numbers:
                            msg = f"{cname}: {probe_name} port {text} is not a declared containerPort"
                            found.append((Status.WARNING, msg))
                    elif text not in names:
                        found.append((Status.FAILING, f"{cname}: {probe_name} port name {text!r} is not declared"))
            if found and first is None:
                first = cname
            issues += found
        yield _report(ctx, w, issues, container=first)
