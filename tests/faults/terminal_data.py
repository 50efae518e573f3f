"""A stored database for the terminal fault tests, built through storage's public API only: runs
with enough results that their outputs overflow a pipe's buffer (64 KiB), long cluster ids and
every pillar, so a closed pipe, a narrow ``COLUMNS`` or a truncating table would show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, start_run

LONG_CLUSTER = "prod-eu-west-1-payments-platform-blue-cluster-0001"
CHECKS = [
    ("SEC-001", "security", "critical"),
    ("REL-004", "reliability", "high"),
    ("PERF-002", "performance", "medium"),
    ("COST-003", "cost", "low"),
    ("OPS-002", "operational-excellence", "medium"),
    ("SUS-001", "sustainability", "info"),
]


def build(path: Path, runs: int = 3, objects: int = 400) -> list[str]:
    """``runs`` finished runs of :data:`LONG_CLUSTER`, each with ``objects`` results per check
    (one in five failing); returns their ids, oldest first."""
    db = Database(f"sqlite:///{path}")
    ids = []
    try:
        for n in range(runs):
            run = create_run(db, scope="full", pillars=[], check_ids=[c for c, _, _ in CHECKS],
                             cluster_id=LONG_CLUSTER, source="manifests: k8s/", trigger="ci")  # fmt: skip
            start_run(db, run["run_id"])
            at = datetime.now(UTC) - timedelta(seconds=5)
            with ResultWriter(db, run["run_id"]) as writer:
                for check_id, pillar, severity in CHECKS:
                    meta = {"id": check_id, "pillar": pillar, "name": f"{check_id} check", "severity": severity,
                            "remediation": f"Fix what {check_id} found."}  # fmt: skip
                    writer.add(meta, [_row(i, check_id, n) for i in range(objects)], at, 20)
            finish_run(db, run["run_id"], "completed")
            ids.append(run["run_id"])
    finally:
        db.dispose()
    return ids


def _row(i: int, check_id: str, run: int) -> dict[str, Any]:
    failing = (i + run) % 5 == 0
    return {
        "status": "failing" if failing else "passing",
        "object_kind": "Deployment",
        "object_namespace": f"team-{i % 7}",
        "object_name": f"service-{i:04d}-with-a-rather-long-name",
        "container": "app",
        "message": f"{check_id}: service-{i:04d} " + ("is not compliant" if failing else "is fine"),
        "reason": None,
        "source": f"k8s/service-{i:04d}.yaml#0",
        "details": None,
        "remediation": None,
    }
