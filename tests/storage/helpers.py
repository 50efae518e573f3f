"""Shared builders for the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.db import Database
from storage.runs import create_run, start_run

CHECK = {
    "id": "SEC-001",
    "pillar": "security",
    "name": "Containers run as non-root",
    "severity": "high",
    "remediation": "Set runAsNonRoot: true",
}


def check(check_id: str = "SEC-001", pillar: str = "security", remediation: str | None = "Fix it") -> dict[str, Any]:
    return {**CHECK, "id": check_id, "pillar": pillar, "remediation": remediation}


def row(status: str = "passing", i: int = 0, **extra: Any) -> dict[str, Any]:
    base = {
        "status": status,
        "message": f"object {i} is {status}",
        "object_kind": "Deployment",
        "object_namespace": "default",
        "object_name": f"app-{i}",
        "container": "app",
        "reason": None,
        "source": "live",
        "details": None,
        "remediation": None,
    }
    base.update(extra)
    return base


def new_run(db: Database, *, start: bool = True, cluster_id: str = "c1", **kw: Any) -> str:
    params: dict[str, Any] = {
        "scope": "full",
        "pillars": ["security", "reliability"],
        "check_ids": ["SEC-001", "REL-001"],
        "cluster_id": cluster_id,
        "source": "kind-cluster",
        "trigger": "manual",
    }
    params.update(kw)
    run = create_run(db, **params)
    if start:
        start_run(db, run["run_id"])
    return run["run_id"]


def now() -> datetime:
    return datetime.now(UTC)
