"""Helpers shared by more than one performance topic module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.snapshot import K8sObject, Snapshot


def _fmt(resource: str, value: float) -> str:
    return f"{value * 1000:.0f}m" if resource == "cpu" else f"{value / 2**20:.0f}Mi"


def _limitrange_defaults(snap: Snapshot, resource: str) -> dict[str | None, tuple[str, Any]]:
    """namespace -> (LimitRange name, default request) for Container-type LimitRange items.

    The API server defaults a Container item's ``defaultRequest`` from ``default`` and ``default``
    from ``max``, so any of the three supplies a request to containers that omit one.
    """
    out: dict[str | None, tuple[str, Any]] = {}
    for lr in snap.of_kind("LimitRange"):
        for item in lr.spec.get("limits") or []:
            if (item.get("type") or "Container") != "Container":
                continue
            for key in ("defaultRequest", "default", "max"):
                value = (item.get(key) or {}).get(resource)
                if value is not None:
                    out.setdefault(lr.namespace, (lr.name, value))
                    break
    return out


@dataclass
class _Metric:
    resource: str
    container: str | None
    target_type: str
    utilization: float | None
    implicit: bool = False

    def label(self) -> str:
        where = f" of container {self.container}" if self.container else ""
        return f"{self.resource}{where}"


def _hpa_resource_metrics(hpa: K8sObject) -> list[_Metric]:
    """Resource/ContainerResource metrics of an HPA, with the implicit 80 % CPU target when none is set."""
    spec = hpa.spec
    metrics = spec.get("metrics")
    if hpa.api_version == "autoscaling/v1" or (not metrics and "targetCPUUtilizationPercentage" in spec):
        util = spec.get("targetCPUUtilizationPercentage")
        return [_Metric("cpu", None, "Utilization", 80 if util is None else util, implicit=util is None)]
    if not metrics:
        return [_Metric("cpu", None, "Utilization", 80, implicit=True)]
    out = []
    for m in metrics:
        kind = m.get("type")
        if kind == "Resource":
            src, container = m.get("resource") or {}, None
        elif kind == "ContainerResource":
            src = m.get("containerResource") or {}
            container = src.get("container") or "?"
        else:
            continue
        target = src.get("target")
        if isinstance(target, dict):
            target_type, util = target.get("type") or "", target.get("averageUtilization")
        else:  # autoscaling/v2beta1 shape
            util = src.get("targetAverageUtilization")
            target_type = "Utilization" if util is not None else "AverageValue"
        out.append(_Metric(str(src.get("name") or ""), container, target_type, util))
    return out
