"""Honest scores through the real command line: a run that could not see its cluster is not green.

Issue 10: with a 403 on Deployments a run scored 91.4 (A) overall while security was 0 (F) and
coverage 31 %, and ``--min-score 80`` passed. Here the same kind of run is stored through
storage's public API (the scores computed by storage, as ``finish_run`` does for every run), then
read by ``kwa`` as a user reads it, offline; and once end to end, a live run against an API
double that forbids Deployments.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import Kwa, Outcome, assert_absent, assert_no_traceback
from tests.sources.conftest import _kmock_lists_namespaces  # noqa: F401  (autouse: kmock lists Namespaces)

FORBIDDEN = "cannot evaluate, resource not listed: Deployment: forbidden: apps/deployments (HTTP 403)"
RUN = "run_20261121_073541_a05de5"
SECURITY = [f"SEC-{i:03d}" for i in range(1, 32)]  # the catalogue's shape: 31 security checks …
OTHERS = [f"REL-{i:03d}" for i in range(1, 24)] + [f"OPS-{i:03d}" for i in range(1, 12)]


def _store_forbidden_run(db_path: Path) -> None:
    """22 of 31 security checks and every reliability check cannot list Deployments; what remains is
    green (operational excellence, critical) except the security checks that did run, which fail
    (low): a 98-point run at 31 % coverage."""
    from storage.db import Database
    from storage.results import ResultWriter
    from storage.runs import create_run, finish_run, start_run

    db = Database(f"sqlite:///{db_path}")
    blind = set(SECURITY[:22]) | set(OTHERS[:23])
    create_run(
        db, run_id=RUN, scope="full", pillars=[], check_ids=SECURITY + OTHERS, cluster_id="prod-eu-1",
        source="api", trigger="ci",
    )  # fmt: skip
    start_run(db, RUN)
    with ResultWriter(db, RUN) as writer:
        for check_id in SECURITY + OTHERS:
            pillar = {"SEC": "security", "REL": "reliability", "OPS": "operational-excellence"}[check_id[:3]]
            check = {"id": check_id, "pillar": pillar, "name": f"check {check_id}", "severity": "low",
                     "remediation": "fix it"}  # fmt: skip
            if check_id in blind:
                rows = [_row("error", None, FORBIDDEN)]
            elif pillar == "security":
                rows = [_row("failing", "shop", "web is privileged")]
            else:
                check["severity"] = "critical"
                rows = [_row("passing", "shop", "ok") for _ in range(5)]
            writer.add(check, rows, datetime.now(UTC), 3)
    finish_run(
        db, RUN, "partial",
        summary={"objects": 40, "problems": [], "unavailable": {"Deployment": "forbidden: apps/deployments (HTTP 403)"},
                 "checks_not_executed": {}},
    )  # fmt: skip
    db.dispose()


def _row(status: str, namespace: str | None, message: str) -> dict[str, Any]:
    kind, name = ("Pod", "web-1") if namespace else (None, None)
    return {
        "status": status, "object_kind": kind, "object_namespace": namespace, "object_name": name,
        "container": None, "message": message, "reason": None, "source": "api", "details": None,
        "remediation": None,
    }  # fmt: skip


def _stored_scores(db_path: Path) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        (raw,) = con.execute("SELECT scores FROM assessment_history WHERE run_id = ?", (RUN,)).fetchone()
    finally:
        con.close()
    return json.loads(raw)


def _clean(got: Outcome) -> None:
    assert_no_traceback(got.out, got.err)
    assert "MarkupError" not in got.text


def test_a_forbidden_run_is_incomplete_and_every_gate_rejects_it(kwa_offline: Kwa) -> None:
    _store_forbidden_run(kwa_offline.db_path)
    scores = _stored_scores(kwa_offline.db_path)
    overall, security = scores["overall"], scores["pillars"]["security"]
    assert scores["version"] == 2 and overall["coverage"] == 30.7  # 20 of 65 applicable checks
    assert overall["measured_score"] == 98.3 and overall["score"] is None and overall["incomplete"]
    assert security["incomplete"] and security["measured_score"] == 0.0 and security["grade"] is None
    assert scores["incomplete_pillars"] == ["security", "reliability"]
    assert scores["pillars"]["operational-excellence"]["grade"] == "A"  # complete pillars keep their grade

    got = kwa_offline("query", "assessments", "summary")
    _clean(got)
    assert got.code == 0
    assert "score incomplete · coverage 30.7 % (20 of 65 applicable checks evaluated)" in got.out
    assert "│ security               │ incomplete │     29 % │" in got.out
    assert "│ reliability            │ incomplete │      0 % │" in got.out
    assert "│ operational-excellence │    100 (A) │    100 % │" in got.out
    ids = "REL-001, REL-002, REL-003, REL-004, REL-005, REL-006 and 39 more"
    assert f"resource-not-listed, 45 checks ({ids}): {FORBIDDEN}" in got.out  # one line for one reason

    # Every gate rejects it (exit 6) and says the coverage and what was not evaluated.
    for gate in (("--min-score", "80"), ("--fail-on", "critical"), ("--min-coverage", "30")):
        got = kwa_offline("query", "assessments", "summary", *gate)
        _clean(got)
        assert got.code == 6, got.text
        assert "gate rejected run " + RUN in got.out
        floor = "30" if gate[0] == "--min-coverage" else "50"  # a lower overall minimum lowers the pillar floor
        assert f"[coverage] security coverage 29 % is below {floor} %: the pillar is incomplete" in got.out
        assert "resource not listed (Deployment: forbidden: apps/deployments (HTTP 403)): SEC-001, SEC-002" in got.out
    got = kwa_offline("query", "assessments", "summary", "--min-score", "80")
    lines = got.out.splitlines()
    assert (
        "  [coverage] coverage 30.7 % is below the minimum 90 % (--min-coverage): 45 of 65 applicable checks not "
        "fully evaluated: resource not listed (Deployment: forbidden: apps/deployments (HTTP 403)): REL-001, "
        "REL-002, REL-003, REL-004, REL-005 and 40 more" in lines
    )
    assert (
        "  [min-score] the run is incomplete (coverage 30.7 %): it has no score: cannot check --min-score 80" in lines
    )

    # Machine formats stay valid on stdout; the reasons go to stderr.
    got = kwa_offline("query", "assessments", "summary", "--fail-on", "critical", "-o", "json")
    _clean(got)
    doc = json.loads(got.out)
    assert got.code == 6 and doc["gate"]["passed"] is False and doc["gate"]["min_coverage"] == {"overall": 90.0}
    assert doc["coverage"]["percent"] == 30.7 and doc["coverage"]["incomplete_pillars"] == ["security", "reliability"]
    assert "[coverage] coverage 30.7 %" in got.err

    # The default comes from the environment when set; a bad value is a usage error naming it.
    got = kwa_offline("query", "assessments", "summary", "--fail-on", "critical", KWA_MIN_COVERAGE="25")
    assert got.code == 6 and "[coverage] coverage 30.7 %" not in got.out and "security coverage" not in got.out
    assert "[coverage] reliability coverage 0 % is below 25 %" in got.out
    got = kwa_offline("query", "assessments", "summary", "--fail-on", "critical", KWA_MIN_COVERAGE="lots")
    _clean(got)
    assert got.code == 2 and "$KWA_MIN_COVERAGE 'lots'" in got.err
    got = kwa_offline("query", "assessments", "summary", "--min-coverage", "0", "--fail-on", "critical")
    assert got.code == 0 and "gate passed" in got.out  # coverage explicitly waived, nothing critical failing

    # Every other view says the same.
    for argv in (("runs", "list"), ("runs", "get", RUN), ("query", "assessments", "history")):
        got = kwa_offline(*argv)
        _clean(got)
        assert got.code == 0 and "incomplete" in got.out and "30.7 %" in got.out, got.text
    got = kwa_offline("runs", "list", "-o", "csv")
    assert got.code == 0 and ",,,30.7," in got.out  # score and grade empty, coverage 30.7


@pytest.mark.prefect
@pytest.mark.asyncio
async def test_kwa_run_against_a_cluster_that_forbids_deployments(kwa: Kwa, kmock: Any, tmp_path: Path) -> None:
    """The whole path: live read with a 403, partial run, final report, gate → exit 6 with the reason."""
    from tests.sources.k8s_double import TOKEN, forbidden, make_pod, serve, write_kubeconfig

    serve(kmock, {"Pod": [make_pod("shop", "web-1", owner="web")]}, overrides={"Deployment": forbidden("deployments")})
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"double": str(kmock.url).rstrip("/")})
    got = await asyncio.to_thread(
        kwa, "run", "--kubeconfig", kubeconfig, "--pillar", "security", "--min-score", "80", "--ci"
    )
    _clean(got)
    assert_absent([TOKEN], got.out, got.err)
    run = got.run()
    assert run["state"] == "partial" and got.code == 6, got.text
    scores = json.loads(
        sqlite3.connect(f"file:{got.db_path}?mode=ro", uri=True)
        .execute("SELECT scores FROM assessment_history WHERE run_id = ?", (run["run_id"],))
        .fetchone()[0]
    )
    coverage = scores["overall"]["coverage"]
    assert coverage < 90 and scores["version"] == 2
    # The report shows the coverage and what was not evaluated; the gate says why it rejected.
    assert f"{coverage:g} %" in got.out and "resource-not-listed, 22 checks (SEC-001, " in got.out
    assert "│ security │ incomplete │" in got.out and "errored: \n" not in got.out  # one line per reason
    assert f"[coverage] coverage {coverage:g} % is below the minimum 90 % (--min-coverage)" in got.err
    assert "resource not listed (Deployment" in got.err
    errors = [r for r in got.results(run["run_id"]) if r["status"] == "error"]
    assert errors and all("Deployment" in (r["message"] or "") for r in errors)
