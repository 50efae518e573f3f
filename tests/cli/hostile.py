"""A stored run whose every user- or cluster-derived text is Rich markup (or looks like it).

Built through storage's public API, as a real run would store it: a cluster id, object names,
namespaces, containers, messages, reasons, a manifest path, check names, the run's error, input
problems, unlisted resources, a check that did not execute, and a resource the credentials could not
list (so ``not_evaluated`` carries markup too). The scores are computed by storage, not given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, start_run

RUN = "run_20260301_120000_eeeeee"
RUN_OLD = "run_20260228_120000_ffffff"
CLUSTER = "prod[/]eu[bold]"
PATH = "k8s/[/x]/app.yaml"
NAMESPACE = "[/x]"
OBJECT = "web[/]"
CONTAINER = "c[link=https://evil.example]x[/link]"
MESSAGE = "Oops[/] [red]not red[/red] :smile: C:\\"
REASON = "[/]"
CHECK_NAME = "Privileged [bold]container[/]"
ERROR = "[/]Oops[/] the API said [blink]no[/blink]"
PROBLEM = f"{PATH} (document 3): [/] is not a Kubernetes object"
FORBIDDEN = "cannot evaluate, resource not listed: Deployment: Oops[/] (403)"
# Each must reach the user as itself.
LITERALS = (CLUSTER, NAMESPACE, OBJECT, MESSAGE.rstrip("\\").strip(), CHECK_NAME, "[blink]no[/blink]", "[/x]/app.yaml")


def _check(check_id: str, pillar: str, severity: str) -> dict[str, Any]:
    return {"id": check_id, "pillar": pillar, "name": CHECK_NAME, "severity": severity, "remediation": f"[i]{REASON}"}


def _row(status: str, **extra: Any) -> dict[str, Any]:
    base = {
        "status": status,
        "object_kind": "Deployment",
        "object_namespace": NAMESPACE,
        "object_name": OBJECT,
        "container": CONTAINER,
        "message": MESSAGE,
        "reason": REASON if status == "skipped" else None,
        "source": f"{PATH}#0",
        "details": {"markup": MESSAGE},
        "remediation": None,
    }
    return base | extra


def build(db: Database) -> None:
    check_ids = ["SEC-001", "SEC-002", "SEC-003", "REL-001", "COST-001"]
    for run_id, at in ((RUN_OLD, datetime(2026, 2, 28, 12, tzinfo=UTC)), (RUN, datetime(2026, 3, 1, 12, tzinfo=UTC))):
        create_run(
            db, run_id=run_id, scope="full", pillars=[], check_ids=check_ids, cluster_id=CLUSTER,
            source=f"manifests: {PATH}", trigger="ci", requested_at=at,
        )  # fmt: skip
        start_run(db, run_id)
        with ResultWriter(db, run_id) as writer:
            writer.add(_check("SEC-001", "security", "critical"), [_row("failing")], at + timedelta(seconds=1), 5)
            writer.add(
                _check("SEC-002", "security", "high"),
                [_row("error", object_kind=None, object_namespace=None, object_name=None, container=None,
                      message=FORBIDDEN, source="api")],
                at + timedelta(seconds=2), 1,
            )  # fmt: skip
            writer.add(_check("REL-001", "reliability", "medium"), [_row("passing"), _row("skipped")], at, 3)
            writer.add(_check("COST-001", "cost", "low"), [_row("warning"), _row("timeout")], at, 3)
        finish_run(
            db, run_id, "partial", error=ERROR,
            summary={
                "objects": 3, "problems": [PROBLEM], "unavailable": {"Deployment": "Oops[/] (403)"},
                "checks_not_executed": {"SEC-003": {"outcome": "errored", "message": f"KeyError: {MESSAGE}"}},
            },
        )  # fmt: skip
