"""``kwa runs logs`` shows what kwa found, not Prefect's per-task chatter.

Issue 11: ``kwa runs logs`` was 107 lines of "Finished in state Completed()" out of 118, and
``--check REL-004`` returned one such line. kwa's own lines go through the loggers
``prefect.flow_runs.kwa`` and ``prefect.task_runs.kwa`` (flows/runlog.py); a flow here logs
through exactly those names, among Prefect's own lines, and the command must tell them apart:
kwa's lines (and warnings or errors that are not Prefect's per-task lines) by default, every line
under ``--verbose``, one check's lines with ``--check``; and a real run's logs never show the
chatter by default.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from storage.db import Database
from storage.runs import create_run, finish_run, start_run
from tests.faults.harness import Kwa, assert_no_traceback

pytestmark = pytest.mark.prefect

CHECKS = ("SEC-001", "REL-004", "OPS-002")
KWA_LINES = {
    "SEC-001": "SEC-001 Privileged container: 3 failing (critical), 40 passing of 43 objects",
    "REL-004": "REL-004 Mutable image tag: 43 passing of 43 objects",
}


def _logged_flow() -> str:
    """A flow shaped like kwa's (a run, a check task per check) logging through the contract's
    logger names and Prefect's own; returns its flow run id once its logs reached the API."""
    from prefect import flow, get_run_logger, task
    from prefect.context import get_run_context
    from prefect.logging.handlers import APILogWorker

    @task(name="check", task_run_name="{check_id}")
    def check(check_id: str) -> None:
        kwa = get_run_logger().getChild("kwa")
        if check_id == "OPS-002":
            raise RuntimeError("OPS-002 blew up")  # Prefect logs the failure (an ERROR of its own)
        kwa.log(logging.WARNING if "failing" in KWA_LINES[check_id] else logging.INFO, KWA_LINES[check_id])
        get_run_logger().info("a Prefect-level line of %s that only --verbose shows", check_id)

    @flow(name="kwa-terminal-logs")
    def fake_run() -> str:
        get_run_logger().getChild("kwa").info("run started: 3 checks")
        for check_id in CHECKS:
            check(check_id, return_state=True)
        get_run_logger().getChild("kwa").warning("run partial: SEC-001 failing (critical), OPS-002 errored")
        return str(get_run_context().flow_run.id)

    flow_run_id = fake_run()
    APILogWorker.drain_all(timeout=30)
    return flow_run_id


@pytest.fixture(scope="module")
def flow_run_id(prefect_api: str) -> str:
    return _logged_flow()


@pytest.fixture
def run_id(kwa: Kwa, flow_run_id: str) -> str:
    """A kwa run of this test's database whose Prefect flow run is the logged flow's."""
    db = Database(f"sqlite:///{kwa.db_path}")
    try:
        run = create_run(db, scope="custom", pillars=[], check_ids=list(CHECKS), cluster_id="logs", source="demo",
                         trigger="manual")  # fmt: skip
        start_run(db, run["run_id"], prefect_flow_run_id=flow_run_id)
        finish_run(db, run["run_id"], "partial")
    finally:
        db.dispose()
    return run["run_id"]


def _messages(out: str) -> list[str]:
    """The messages of ``DATE TIME LEVEL message`` lines."""
    return [re.match(r"\S+ \S+ \S+ +(.*)$", line).group(1) for line in out.splitlines()]  # type: ignore[union-attr]


def test_by_default_only_what_kwa_found(kwa: Kwa, run_id: str) -> None:
    got = kwa("runs", "logs", run_id)
    assert got.code == 0, got.text
    assert_no_traceback(got.out, got.err)
    assert _messages(got.out) == [
        "run started: 3 checks",
        KWA_LINES["SEC-001"],
        KWA_LINES["REL-004"],
        "run partial: SEC-001 failing (critical), OPS-002 errored",
    ]
    assert "WARNING  " + KWA_LINES["SEC-001"] in got.out  # levels are kwa's
    assert "Finished in state" not in got.out and "only --verbose shows" not in got.out
    # What was left out is said, on stderr: Prefect's lines, among them the failed task's errors.
    assert "of Prefect's own lines for run " in got.err and "warnings or errors: --verbose shows them" in got.err


def test_verbose_shows_every_line_and_where_it_came_from(kwa: Kwa, run_id: str) -> None:
    got = kwa("runs", "logs", run_id, "--verbose")
    assert got.code == 0, got.text
    lines = got.out.splitlines()
    assert any("Finished in state Completed()" in line and " SEC-001 " in line for line in lines)
    assert any("OPS-002 blew up" in line for line in lines)  # Prefect's own report of the failure
    assert any(" run " in line and "run started: 3 checks" in line for line in lines)
    assert "not shown" not in got.err


def test_one_check(kwa: Kwa, run_id: str) -> None:
    got = kwa("runs", "logs", run_id, "--check", "sec-001")  # ids are case-insensitive
    assert got.code == 0, got.text
    assert _messages(got.out) == [KWA_LINES["SEC-001"]]
    verbose = kwa("runs", "logs", run_id, "--check", "SEC-001", "--verbose")
    assert KWA_LINES["SEC-001"] in verbose.out and "Finished in state Completed()" in verbose.out
    assert "REL-004" not in verbose.out and "run started" not in verbose.out
    # A check that only Prefect logged about (it raised before kwa's line): said, not silent.
    ops = kwa("runs", "logs", run_id, "--check", "OPS-002")
    assert ops.code == 0 and ops.out == "" and "--verbose shows them" in ops.err
    unknown = kwa("runs", "logs", run_id, "--check", "SEC-999")
    assert unknown.code == 2 and f"check SEC-999 is not part of run {run_id}" in unknown.err
    assert_no_traceback(got.err, verbose.err, ops.err, unknown.err)


def test_json_records(kwa: Kwa, run_id: str) -> None:
    got = kwa("runs", "logs", run_id, "-o", "json")
    records: list[dict[str, Any]] = json.loads(got.out)
    assert [r["message"] for r in records][1:3] == [KWA_LINES["SEC-001"], KWA_LINES["REL-004"]]
    assert all(r["kwa"] and r["name"] in ("prefect.flow_runs.kwa", "prefect.task_runs.kwa") for r in records)
    assert [r["where"] for r in records] == ["run", "SEC-001", "REL-004", "run"]
    every = json.loads(kwa("runs", "logs", run_id, "-o", "json", "--verbose").out)
    assert len(every) > len(records) and any(not r["kwa"] for r in every)


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:latest", securityContext: {privileged: true}}]
"""


def test_a_real_run_without_the_chatter(kwa: Kwa) -> None:
    (kwa.tmp / "app.yaml").write_text(MANIFEST)
    ran = kwa("run", "--manifests", "app.yaml", "--check", "SEC-001,REL-004,REL-001")
    assert ran.code == 0, ran.text
    run_id = ran.run()["run_id"]
    every = kwa("runs", "logs", run_id, "--verbose")
    assert every.code == 0 and every.out.count("Finished in state") >= 3  # Prefect logged them
    shown = kwa("runs", "logs", run_id)
    assert shown.code == 0, shown.text
    assert "Finished in state" not in shown.out
    one = kwa("runs", "logs", run_id, "--check", "REL-004")
    assert one.code == 0 and "Finished in state" not in one.out
    for got in (every, shown, one):
        assert_no_traceback(got.out, got.err)
    # Whatever kwa logs for a check (flows/runlog.py), the check's lines name only that check.
    for line in one.out.splitlines():
        assert "SEC-001" not in line and "REL-001 " not in line
