"""The Prefect UI tells the truth about a run: kwa's outcome, which pillars and checks found problems.

Each test runs the real ``kwa run`` against the session's Prefect server and reads back, through the
REST API the UI reads, what a user who opens only the UI sees: the flow run's state and message, each
pillar subflow's state, each check task's state, and kwa's own log lines (``prefect.flow_runs.kwa``,
``prefect.task_runs.kwa``). No planted credential reaches any of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_absent, assert_no_traceback, sqlite_dump
from tests.faults.prefect_view import (
    PLANTED,
    SLOW_CHECK_CONFIG,
    SLOW_CHECK_ENV,
    TWO_CRITICALS,
    artifacts_text,
    flow_run_view,
)

pytestmark = pytest.mark.prefect

LINK = re.compile(r"Prefect UI: (http://127\.0\.0\.1:\d+)/runs/flow-run/([0-9a-f-]{36})")


def _link(out: str, api: str, flow_run_id: str) -> None:
    """`kwa run` ends with the link to the run's page, in the UI of the server the run used."""
    match = LINK.search(out)
    assert match, f"no Prefect UI link in:\n{out}"
    assert match.group(1) == api.removesuffix("/api") and match.group(2) == flow_run_id


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(TWO_CRITICALS)
    return path


def test_a_partial_run_shows_which_pillars_and_checks_found_problems(
    kwa: Kwa, prefect_api: str, manifests: Path, tmp_path: Path
) -> None:
    config = tmp_path / "kwa.yaml"
    config.write_text(SLOW_CHECK_CONFIG)
    checks = "SEC-001,SEC-013,SEC-004,SEC-921,OPS-990,OPS-001"
    out = kwa("run", "--manifests", str(manifests), "--check", checks, "--config", str(config), **SLOW_CHECK_ENV)

    assert out.code == 3, out.text  # partial: SEC-921 timed out, OPS-990 raised on every object
    run = out.run()
    assert run["state"] == "partial"
    kept = {(r["check_id"], r["status"]) for r in out.results()}
    assert {("SEC-001", "failing"), ("SEC-013", "failing"), ("SEC-921", "timeout"), ("OPS-990", "error")} <= kept
    _link(out.out, prefect_api, run["prefect_flow_run_id"])
    view = flow_run_view(prefect_api, run["prefect_flow_run_id"], tasks_expected=6)

    # The run: kwa's state (Completed named "Partial") and what it found, worst first.
    assert (view.state.type, view.state.name) == ("COMPLETED", "Partial")
    assert view.state.message.startswith(
        "partial: 2 of 6 checks failing: SEC-001 (critical), SEC-013 (critical); "
        "2 errored or timed out: OPS-990, SEC-921"
    ), view.state.message
    assert view.state.message.endswith(f"; kwa run {run['run_id']}")
    # The pillars: which found failing checks, which could not evaluate everything.
    security, ops = view.subflows["security"], view.subflows["operational-excellence"]
    assert (security.type, security.name) == ("COMPLETED", "Failing")
    assert security.message == "2 of 4 checks failing: SEC-001 (critical), SEC-013 (critical); 1 timed out: SEC-921"
    assert (ops.type, ops.name, ops.message) == ("COMPLETED", "Partial", "1 of 2 checks errored: OPS-990")
    # The checks: a failing check is visibly not a clean one; errors and timeouts are Failed.
    assert (view.tasks["SEC-001"].name, view.tasks["SEC-001"].message) == (
        "Failing", "1 failing (critical), 1 passing of 2 objects")  # fmt: skip
    assert (view.tasks["SEC-004"].type, view.tasks["SEC-004"].name) == ("COMPLETED", "Completed")
    assert (view.tasks["SEC-921"].type, view.tasks["SEC-921"].name) == ("FAILED", "TimedOut")
    assert view.tasks["OPS-990"].type == "FAILED"
    assert view.tasks["OPS-990"].message.startswith("could not evaluate: ")

    # kwa's own log lines: per check (on its task run), per pillar and for the run.
    lines = view.kwa_lines()
    sec001 = [line for line in lines if line["message"].startswith("SEC-001 ")]
    assert len(sec001) == 1 and sec001[0]["name"] == "prefect.task_runs.kwa"
    assert sec001[0]["task_run_id"] == view.task_ids["SEC-001"]
    assert sec001[0]["message"] == (
        "SEC-001 Privileged or HostProcess container: 1 failing (critical), 1 passing of 2 objects; "
        "failing: Deployment shop/web (container web)"
    )
    assert any(line["message"].startswith("SEC-921 ") and line["level"] >= 40 for line in lines)
    pillar_lines = [line for line in lines if line["message"].startswith("pillar security: ")]
    assert pillar_lines and pillar_lines[0]["flow_run_id"] == view.subflow_ids["security"]
    assert any(line["message"] == view.state.message and line["name"] == "prefect.flow_runs.kwa" for line in lines)

    # Two clicks: the run's artifacts hold its summary; nothing the UI shows carries the credential.
    assert run["run_id"] in artifacts_text(prefect_api, run["prefect_flow_run_id"])
    assert_no_traceback(out.out, out.err)
    assert_absent([PLANTED], out.text, view.text(), artifacts_text(prefect_api, run["prefect_flow_run_id"]),
                  sqlite_dump(out.db_path))  # fmt: skip


def test_a_completed_run_with_failures_is_completed_and_says_what_failed(
    kwa: Kwa, prefect_api: str, manifests: Path
) -> None:
    out = kwa("run", "--manifests", str(manifests), "--check", "SEC-001,SEC-004")

    assert out.code == 0, out.text  # every check executed: completed, whatever it found
    run = out.run()
    assert run["state"] == "completed"
    assert {r["status"] for r in out.results() if r["check_id"] == "SEC-001"} == {"failing", "passing"}
    _link(out.out, prefect_api, run["prefect_flow_run_id"])
    view = flow_run_view(prefect_api, run["prefect_flow_run_id"], tasks_expected=2)
    assert (view.state.type, view.state.name) == ("COMPLETED", "Completed")
    assert view.state.message.startswith("completed: 1 of 2 checks failing: SEC-001 (critical); results: ")
    assert view.state.message.endswith(f"; kwa run {run['run_id']}")
    assert (view.subflows["security"].name, view.subflows["security"].message) == (
        "Failing", "1 of 2 checks failing: SEC-001 (critical)")  # fmt: skip
    assert (view.tasks["SEC-001"].name, view.tasks["SEC-004"].name) == ("Failing", "Completed")
    assert_no_traceback(out.out, out.err)
    assert_absent([PLANTED], out.text, view.text())


def test_a_run_that_failed_before_its_checks_is_failed_in_prefect(kwa: Kwa, prefect_api: str, tmp_path: Path) -> None:
    """The context does not exist: kwa's run is failed, and so is its flow run, saying why."""
    from tests.sources.k8s_double import TOKEN, write_kubeconfig

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"prod": "http://127.0.0.1:9"})
    out = kwa("run", "--kubeconfig", kubeconfig, "--context", "nope", "--check", "SEC-001")

    assert out.code == 4, out.text
    run = out.run()
    assert run["state"] == "failed" and "nope" in run["error"]
    assert out.results() == []
    assert "state failed" in out.out and "nope" in out.out
    _link(out.out, prefect_api, run["prefect_flow_run_id"])
    view = flow_run_view(prefect_api, run["prefect_flow_run_id"])
    assert (view.state.type, view.state.name) == ("FAILED", "Failed")
    assert view.state.message == run["error"]
    assert view.subflows == {}  # it never got to its checks
    assert any(line["level"] >= 40 and line["message"] == run["error"] for line in view.kwa_lines())
    assert_no_traceback(out.out, out.err)
    assert_absent([TOKEN], out.text, view.text(), sqlite_dump(out.db_path))
