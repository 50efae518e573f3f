"""The bundled demo cluster: the default source when no kubeconfig is found.

``checks/data/demo-cluster.yaml`` is a recorded dump of a small EKS production cluster, "demo-prod"
(Kubernetes 1.29.4): one ``kind: List`` with live metadata, specs and status, written by
``tools/make_demo_cluster.py``. It is assessed as a *live* snapshot, so live-only checks run too, and
``demo-metrics.yaml`` supplies the metrics.k8s.io usage the ``live+metrics`` checks need.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from checks.snapshot import K8sObject, ParseProblem, Snapshot
from checks.sources.manifests import parse_text
from checks.sources.metrics import parse_node_metrics, parse_pod_metrics

try:  # the C loader is ~10x faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_PATH = DATA_DIR / "demo-cluster.yaml"
DEMO_METRICS_PATH = DATA_DIR / "demo-metrics.yaml"
CLUSTER_ID = "demo-prod"
SERVER_VERSION = "1.29.4"
DESCRIPTION = "bundled demo cluster 'demo-prod' (a recorded dump; no kubeconfig was found)"
# The generator's fixed "now": ages in the dump are measured at this instant, not today.
CAPTURED_AT = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def load_demo() -> Snapshot:
    """A fresh live-mode snapshot of the demo cluster, metrics included.

    Like every source it goes through the input boundary (``Snapshot``): the bundled dump is
    valid, so nothing is quarantined, but nothing here is exempt from the check either.
    """
    objects, problems = demo_objects()
    return demo_snapshot(objects, problems)


def demo_objects() -> tuple[list[K8sObject], list[ParseProblem]]:
    """The demo cluster's objects, freshly parsed (each call returns new dicts), and any problems."""
    objects: list[K8sObject] = []
    problems: list[ParseProblem] = []
    parse_text(DEMO_PATH.read_text(encoding="utf-8"), DEMO_PATH.name, objects, problems)
    return objects, problems


def demo_snapshot(
    objects: list[K8sObject], problems: list[ParseProblem] | None = None, metrics: dict[str, Any] | None = None
) -> Snapshot:
    """A snapshot of ``objects`` (demo objects, possibly altered) as the demo cluster is assessed;
    ``metrics`` defaults to the bundled metrics (:func:`load_metrics`)."""
    return Snapshot(
        objects=objects,
        mode="live",
        description=DESCRIPTION,
        problems=list(problems or []),
        server_version=SERVER_VERSION,
        metrics=load_metrics() if metrics is None else metrics,
        cluster_id=CLUSTER_ID,
        captured_at=CAPTURED_AT,
    )


def load_metrics(path: Path = DEMO_METRICS_PATH) -> dict[str, Any]:
    """The metrics snapshot in the shape of ``Snapshot.metrics``.

    ``{"pods": {"ns/pod": {container: {"cpu": cores, "memory": bytes}}},
    "nodes": {node: {"cpu": cores, "memory": bytes}}}``, read from a list of metrics.k8s.io
    ``PodMetrics`` and ``NodeMetrics`` objects.
    """
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    return metrics_from_items(data.get("items") or [])


def metrics_from_items(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pods": parse_pod_metrics(i for i in items if i.get("kind") == "PodMetrics"),
        "nodes": parse_node_metrics(i for i in items if i.get("kind") == "NodeMetrics"),
    }
