"""Container requests and limits: CPU and memory requests, limits, ratios, ephemeral
storage (PERF-001 to PERF-006).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.capacity import (
    RESOURCES,
    FieldError,
    container_name,
    read_resource,
)
from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.performance.common import _limitrange_defaults
from checks.registry import check


def _requests_missing(ctx: CheckContext, resource: str) -> Iterator[Result]:
    defaults = _limitrange_defaults(ctx.snapshot, resource)
    for w in ctx.snapshot.workloads():
        for c in w.long_running_containers():
            name = container_name(c)
            try:
                value = read_resource(c, "requests", resource)
            except FieldError as exc:
                yield ctx.error(w, str(exc), container=name)
                continue
            if value is not None:
                yield ctx.ok(w, container=name)
            elif w.namespace in defaults:
                lr_name, default = defaults[w.namespace]
                yield ctx.ok(
                    w,
                    f"container {name} sets no requests.{resource}; LimitRange {lr_name} in the namespace "
                    f"supplies a default request of {default}",
                    container=name,
                    details={"limitRange": lr_name, "defaultRequest": default},
                )
            else:
                yield ctx.fail(
                    w,
                    f"container {name} has no resources.requests.{resource}",
                    container=name,
                    field=w.container_path(c, f"resources.requests.{resource}"),
                )


@check("PERF-001")
def cpu_requests_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without a CPU request: scheduling and CPU shares depend on it.

    Rule (docs/catalogue.md#perf-001): every container in C* sets ``resources.requests.cpu``; one result per
    container (the catalogue says "per container"). A missing request is ``passing`` with a note
    when a Container-type LimitRange in the namespace supplies a default (``defaultRequest``, or
    ``default``/``max`` from which the API server defaults it).

    Interpretation: the catalogue applies the LimitRange note in manifest mode because "live objects
    are already defaulted"; that holds for Pods but not for controller templates (LimitRange
    admission only mutates Pods), and live workloads are judged through their templates, so the note
    applies in both modes. A request that would only come from a limit (API defaulting) still fails,
    as in every peer.
    """
    yield from _requests_missing(ctx, "cpu")


@check("PERF-002")
def memory_requests_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without a memory request: scheduling and eviction order depend on it.

    Rule (docs/catalogue.md#perf-002): as PERF-001 for ``resources.requests.memory``, including the
    LimitRange note (see PERF-001 for why it applies in live mode too).
    """
    yield from _requests_missing(ctx, "memory")


@check("PERF-003")
def memory_limit_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without ``resources.limits.memory`` (one result per container).

    Memory is incompressible: without a limit the blast radius of a leak is the whole node.
    """
    for w in ctx.snapshot.workloads():
        for c in w.long_running_containers():
            name = container_name(c)
            try:
                value = read_resource(c, "limits", "memory")
            except FieldError as exc:
                yield ctx.error(w, str(exc), container=name)
                continue
            if value is None:
                yield ctx.fail(
                    w,
                    f"container {name} has no resources.limits.memory",
                    container=name,
                    field=w.container_path(c, "resources.limits.memory"),
                )
            else:
                yield ctx.ok(w, container=name)


@check("PERF-004")
def cpu_limit_missing(ctx: CheckContext) -> Iterator[Result]:
    """Flag workloads whose C* containers lack ``resources.limits.cpu``.

    The status follows ``cpu_limit_policy``: ``warning`` (default), ``failing``, or ``off`` (one
    ``skipped(disabled)`` row). Peers disagree on CPU limits because they trade isolation against
    throttling (kube-score #30, EKS BPG node efficiency), hence the policy switch.
    """
    policy = str(ctx.setting("cpu_limit_policy", "warning")).strip().lower()
    if policy == "off":
        yield ctx.skip(None, SkipReason.DISABLED, "cpu_limit_policy is off")
        return
    if policy not in ("warning", "failing"):
        yield ctx.error(None, f"cpu_limit_policy must be off, warning or failing, not {policy!r}")
        return
    verdict = ctx.warn if policy == "warning" else ctx.fail
    for w in ctx.snapshot.workloads():
        try:
            containers = w.long_running_containers()
            missing = [container_name(c) for c in containers if read_resource(c, "limits", "cpu") is None]
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if missing:
            yield verdict(w, f"no resources.limits.cpu on: {', '.join(missing)}", container=missing[0], details=missing)
        else:
            yield ctx.ok(w)


@check("PERF-005")
def request_limit_ratio(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a C* container's limit/request ratio exceeds the configured bounds.

    Rule (docs/catalogue.md#perf-005): ``warning`` when memory limit / request > ``memory_limit_request_ratio``
    (2) or cpu limit / request > ``cpu_limit_request_ratio`` (10). Strict mode (per-check setting
    ``memory_requests_equal_limits: true``) fails when the memory request differs from the limit,
    as kube-score does; a request without a limit counts as different, a limit without a request
    as equal (the API server defaults the request to the limit). Containers that set neither side
    of a pair are not judged here (PERF-001..004 cover them); a workload with nothing to compare is
    ``skipped(not-applicable)``.
    """
    bounds = {
        "memory": float(ctx.setting("memory_limit_request_ratio", 2.0)),
        "cpu": float(ctx.setting("cpu_limit_request_ratio", 10.0)),
    }
    strict = bool(ctx.setting("memory_requests_equal_limits", False))
    for w in ctx.snapshot.workloads():
        over: list[dict[str, Any]] = []
        unequal: list[str] = []
        compared = False
        try:
            for c in w.long_running_containers():
                for resource in RESOURCES:
                    req, lim = read_resource(c, "requests", resource), read_resource(c, "limits", resource)
                    if strict and resource == "memory" and (req is not None or lim is not None):
                        compared = True
                        if req is not None and req != lim:
                            unequal.append(container_name(c))
                    if req is None or lim is None:
                        continue
                    compared = True
                    ratio = float("inf") if req == 0 else lim / req
                    if ratio > bounds[resource]:
                        over.append({"container": container_name(c), "resource": resource, "ratio": round(ratio, 2)})
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if unequal:
            yield ctx.fail(
                w, f"memory request differs from limit on: {', '.join(unequal)}", container=unequal[0], details=unequal
            )
        elif over:
            text = ", ".join(f"{o['container']} {o['resource']} {o['ratio']}x" for o in over)
            yield ctx.warn(w, f"limit/request ratio above bound: {text}", container=over[0]["container"], details=over)
        elif compared:
            yield ctx.ok(w)
        else:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no container sets both a request and a limit")


@check("PERF-006")
def ephemeral_storage_unbounded(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a C* container lacks an ephemeral-storage request or limit (opt-in check).

    Opt-in because many workloads never touch local disk; when enabled it mirrors kube-score's
    container-ephemeral-storage-request-and-limit with ``warning`` instead of failing.
    """
    for w in ctx.snapshot.workloads():
        missing: list[str] = []
        try:
            for c in w.long_running_containers():
                absent = [s for s in ("requests", "limits") if read_resource(c, s, "ephemeral-storage") is None]
                if absent:
                    missing.append(f"{container_name(c)} ({' and '.join(absent)})")
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if missing:
            yield ctx.warn(
                w,
                f"no ephemeral-storage bound on: {', '.join(missing)}",
                container=missing[0].split(" ", 1)[0],
                details=missing,
            )
        else:
            yield ctx.ok(w)
