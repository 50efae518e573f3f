"""The dashboard tests' database: the CLI tests' two clusters (tests/cli/builder.py) plus a third
cluster, ``edge``, with three full runs (a trend), an exemption audit, a Prefect flow run id, and
hostile object names (``<script>``, an ``<img onerror>``) that must show as text, and more
results in its latest run than the run page shows at once. Built through
storage's public API only, on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import storage.runs as runs_module
from storage.db import Database
from storage.runs import create_run, finish_run, start_run
from tests.cli import builder
from tests.cli.builder import FrozenClock, _results, _scores, row

EDGE = "edge"
EDGE_RUNS = ("run_20260212_090000_eeeee1", "run_20260213_090000_eeeee2", "run_20260214_090000_eeeee3")
FLOW_RUN = "0b0e6f2c-5a41-4d0e-9a53-3f6f1c2d9a10"
SCRIPT_NAME = "<script>window.__pwned=1</script>"
# A right-to-left override and a CSI sequence: shown as escapes, never obeyed.
SCRIPT_MESSAGE = f"image of {SCRIPT_NAME} \u202eevil\x1b[2J"
IMG_NAME = '<img src=x onerror="window.__pwned=2">'
EXEMPTION = {
    "source": "config",
    "name": "legacy-batch <b>jobs</b>",
    "checks": "REL-001",
    "objects": 0,
    "until": "2026-01-31",
    "results": 0,
    "status": "expired",
    "message": "expired on 2026-01-31; no longer applied",
}
EXTRA_CONFIGMAPS = 120
# overall, security, reliability per edge run: the trend goes up
EDGE_SCORES = ((40.0, 20.0, 60.0), (62.5, 50.0, 75.0), (81.2, 70.0, 92.4))


def _edge_run(db: Database, clock: FrozenClock, index: int) -> None:
    run_id = EDGE_RUNS[index]
    day = datetime(2026, 2, 12 + index, 9, 0, 0, tzinfo=UTC)
    clock.set(day)
    create_run(
        db, run_id=run_id, cluster_id=EDGE, scope="full", pillars=[], check_ids=list(builder.CHECKS),
        source="live: context edge", trigger="schedule", requested_at=day,
    )  # fmt: skip
    start_run(db, run_id, prefect_flow_run_id=FLOW_RUN if index == 2 else None)
    fixed = index >= 2  # the latest run fixes the privileged container
    groups: list[tuple[str, list[dict[str, Any]]]] = [
        ("SEC-001", [row("passing" if fixed else "failing", "Deployment", "edge", "gateway", container="proxy")]),
        ("SEC-002", [row("failing", "Pod", "edge", SCRIPT_NAME, container="c", message=SCRIPT_MESSAGE)]),
        ("REL-001", [row("failing", "Deployment", "batch", IMG_NAME), row("passing", "Deployment", "edge", "gateway")]),
        ("COST-001", [row("warning", "ConfigMap", "batch", "stale-config", message="not referenced by any pod")]),
        ("OPS-001", [row("passing", "Namespace", None, "edge")]),
    ]
    if index == 2:  # a new failure in the latest run: the cluster page shows it as new
        groups[2][1].append(row("failing", "StatefulSet", "edge", "cache", message="1 replica"))
        # and more results than the run page shows at once (its "Show more" follows the cursor)
        groups[3][1].extend(
            row("warning", "ConfigMap", "batch", f"unused-{i:03}", message="not referenced by any pod")
            for i in range(EXTRA_CONFIGMAPS)
        )
    _results(db, run_id, day + timedelta(seconds=5), groups)
    overall, security, reliability = EDGE_SCORES[index]
    scores = _scores(overall, {"security": security, "reliability": reliability, "cost": 50.0,
                               "operational-excellence": 100.0})  # fmt: skip
    summary = {"objects": 6, "problems": [], "unavailable": {}, "checks_not_executed": {}}
    if index == 2:
        summary["exemption_audit"] = [EXEMPTION]
    finish_run(db, run_id, "completed", history={"duration_ms": 5100, "scores": scores}, summary=summary)


def build_dashboard_database(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as mp:
        builder.build(db, mp)
        clock = FrozenClock()
        mp.setattr(runs_module, "_now", clock)
        for index in range(len(EDGE_RUNS)):
            _edge_run(db, clock, index)
    return db
