"""Scheduling and the API server's hot path: PriorityClasses and admission webhooks
(PERF-013, PERF-014).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.k8s import (
    as_number,
    selector_matches,
)
from checks.model import Result
from checks.registry import check
from checks.snapshot import Snapshot


@check("PERF-013")
def priority_class_not_set(ctx: CheckContext) -> Iterator[Result]:
    """Warn on long-running workloads without ``priorityClassName`` when no globalDefault PriorityClass exists.

    Rule (docs/catalogue.md#perf-013): workloads except Job/CronJob; ``passing`` when the name is set or a
    PriorityClass with ``globalDefault: true`` exists (in manifest mode: among the objects given).
    """
    classes = ctx.snapshot.of_kind("PriorityClass")
    default = next((pc.name for pc in classes if pc.raw.get("globalDefault") is True), None)
    for w in ctx.snapshot.workloads():
        if w.kind in ("Job", "CronJob"):
            continue
        if w.pod_spec.get("priorityClassName"):
            yield ctx.ok(w)
        elif default:
            yield ctx.ok(w, f"no priorityClassName; globalDefault PriorityClass {default} applies")
        else:
            yield ctx.warn(w, "no priorityClassName and no globalDefault PriorityClass")


def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int]:
    """(namespace, service) -> number of distinct ready endpoints, from EndpointSlices else Endpoints."""
    ready: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for eps in snap.of_kind("EndpointSlice"):
        svc = eps.labels.get("kubernetes.io/service-name")
        if not svc:
            continue
        for ep in eps.raw.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            ident = (ep.get("targetRef") or {}).get("name") or ",".join(ep.get("addresses") or [])
            ready[(eps.namespace, svc)].add(ident)
    for ep in snap.of_kind("Endpoints"):
        key = (ep.namespace, ep.name)
        if key in ready:
            continue
        for subset in ep.raw.get("subsets") or []:
            for addr in subset.get("addresses") or []:
                ready[key].add((addr.get("targetRef") or {}).get("name") or addr.get("ip") or "?")
    return {k: len(v) for k, v in ready.items()}


def _excludes_kube_system(webhook: dict[str, Any], kube_system_labels: dict[str, str]) -> bool:
    ns_sel = webhook.get("namespaceSelector")
    if ns_sel and not selector_matches(ns_sel, kube_system_labels):
        return True
    obj_sel = webhook.get("objectSelector")
    # An objectSelector that unlabelled objects do not match makes the webhook opt-in, so system
    # pods (which do not carry the opt-in label) are not intercepted.
    return bool(obj_sel) and not selector_matches(obj_sel, {})


@check("PERF-014")
def admission_webhooks(ctx: CheckContext) -> Iterator[Result]:
    """One result per webhook configuration, listing every webhook on the hot path.

    Rule (docs/catalogue.md#perf-014): ``warning`` when a webhook's ``timeoutSeconds`` > ``webhook_timeout_seconds``
    (10; unset means 10 in admissionregistration/v1, 30 in v1beta1); when ``failurePolicy`` is Fail
    (the v1 default; v1beta1 defaults to Ignore) and neither a namespaceSelector that kube-system's
    labels do not match nor an opt-in objectSelector keeps kube-system out; and, live, when the
    backing Service has fewer than 2 ready endpoints. kube-system's labels come from its Namespace
    object when present, plus ``kubernetes.io/metadata.name`` which the API server always sets.
    """
    max_timeout = float(ctx.setting("webhook_timeout_seconds", 10))
    ns = ctx.snapshot.get("Namespace", None, "kube-system")
    ks_labels = {**(ns.labels if ns else {}), "kubernetes.io/metadata.name": "kube-system"}
    endpoints = _ready_endpoints(ctx.snapshot) if ctx.live else {}
    for cfg in ctx.snapshot.of_kind("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        v1beta1 = cfg.api_version.endswith("/v1beta1")
        findings: list[str] = []
        for wh in cfg.raw.get("webhooks") or []:
            name = wh.get("name") or "?"
            timeout = as_number(wh.get("timeoutSeconds", 30 if v1beta1 else 10))
            if timeout is not None and timeout > max_timeout:
                findings.append(f"{name}: timeoutSeconds {timeout:g} > {max_timeout:g}")
            policy = wh.get("failurePolicy") or ("Ignore" if v1beta1 else "Fail")
            if policy == "Fail" and not _excludes_kube_system(wh, ks_labels):
                findings.append(f"{name}: failurePolicy Fail and kube-system is not excluded")
            svc = (wh.get("clientConfig") or {}).get("service")
            if ctx.live and svc:
                count = endpoints.get((svc.get("namespace"), svc.get("name") or ""), 0)
                if count < 2:
                    where = f"{svc.get('namespace')}/{svc.get('name')}"
                    findings.append(f"{name}: Service {where} has {count} ready endpoint(s)")
        if findings:
            yield ctx.warn(cfg, "; ".join(findings), details=findings)
        else:
            yield ctx.ok(cfg)
