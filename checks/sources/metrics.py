"""metrics.k8s.io objects → the ``Snapshot.metrics`` shape (shared by the live source and the demo)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checks.k8s import QuantityError, parse_quantity


def parse_pod_metrics(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """``PodMetrics`` items → ``{"<ns>/<pod>": {container: {"cpu": cores, "memory": bytes}}}``."""
    pods: dict[str, dict[str, dict[str, float]]] = {}
    for item in items:
        meta = item.get("metadata") or {}
        containers = {
            str(c.get("name") or ""): usage(c.get("usage")) for c in item.get("containers") or [] if isinstance(c, dict)
        }
        pods[f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"] = containers
    return pods


def parse_node_metrics(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``NodeMetrics`` items → ``{node: {"cpu": cores, "memory": bytes}}``."""
    return {str((item.get("metadata") or {}).get("name") or ""): usage(item.get("usage")) for item in items}


def usage(value: Any) -> dict[str, float]:
    """A metrics ``usage`` map as numbers; unparsable quantities are left out."""
    out: dict[str, float] = {}
    for resource in ("cpu", "memory"):
        raw = value.get(resource) if isinstance(value, dict) else None
        if raw is None:
            continue
        try:
            out[resource] = parse_quantity(raw)
        except QuantityError:
            continue
    return out
