"""Scores: weights, warnings, grades, exemptions, coverage, storage with the history row, speed."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text, update

from storage.db import Database
from storage.grades import coverage_text, score_text, verdict
from storage.models import history_table
from storage.results import ResultWriter
from storage.runs import RunNotFound, abort_run, create_run, fail_run, finish_run, get_history, start_run
from storage.scores import SCORES_VERSION, Tally, compute, grade, normalise, pillar_of, run_scores, tally, weight

from .helpers import new_run, row

NOW = datetime(2026, 2, 16, 10, 30, 45, tzinfo=UTC)
FORBIDDEN = "cannot evaluate, resource not listed: Pod: forbidden (403)"


def chk(check_id: str, severity: str = "high", pillar: str | None = None) -> dict[str, Any]:
    return {
        "id": check_id,
        "pillar": pillar or pillar_of(check_id) or "security",
        "name": f"check {check_id}",
        "severity": severity,
        "remediation": "fix it",
    }


def rows(**by_status: int) -> list[dict[str, Any]]:
    """Object-level rows: ``rows(passing=3, failing=1)``."""
    out: list[dict[str, Any]] = []
    for status, n in by_status.items():
        out += [row(status, len(out) + i) for i in range(n)]
    return out


def check_level(status: str, message: str, reason: str | None = None) -> dict[str, Any]:
    return row(status, message=message, reason=reason, object_kind=None, object_namespace=None, object_name=None)


def write(db: Database, run_id: str, results: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    with ResultWriter(db, run_id, batch_size=500) as writer:
        for check, rs in results:
            writer.add(check, rs, NOW, 1)


def scored(db: Database, results: list[tuple[dict[str, Any], list[dict[str, Any]]]], state: str = "completed") -> dict:
    """Write ``results`` into a fresh run whose check_ids are exactly those checks, end it, return scores."""
    rid = new_run(db, check_ids=[c["id"] for c, _ in results], pillars=[])
    write(db, rid, results)
    finish_run(db, rid, state)
    return get_history(db, rid)["scores"]


def t(check_id: str, severity: str = "high", **counts: Any) -> Tally:
    """A per-check tally for the pure tests: ``t("SEC-001", "low", passing=3, error=1)``."""
    return Tally(check_id, pillar_of(check_id) or "security", severity, **counts)


# -- pure rules -----------------------------------------------------------------------------------


def test_weights() -> None:
    assert [weight(s) for s in ("critical", "high", "medium", "low", "info")] == [10, 5, 3, 1, 0]
    assert weight("CRITICAL") == 10
    assert weight("bogus") == 3 and weight(None) == 3  # unknown never silently weighs 0


@pytest.mark.parametrize(
    ("score", "letter"),
    [
        (100.0, "A"), (90.0, "A"), (89.9, "B"), (80.0, "B"), (79.9, "C"), (70.0, "C"), (69.9, "D"),
        (60.0, "D"), (59.9, "E"), (50.0, "E"), (49.9, "F"), (0.0, "F"), (None, None),
    ],
)  # fmt: skip
def test_grade_band_edges(score: float | None, letter: str | None) -> None:
    assert grade(score) == letter


def test_pillar_of_check_ids() -> None:
    assert pillar_of("SEC-001") == "security" and pillar_of("OPS-011") == "operational-excellence"
    assert pillar_of("PERF-003") == "performance" and pillar_of("XYZ-001") is None


def test_score_is_truncated_so_it_never_rounds_into_a_better_grade() -> None:
    # 8999 / 10000 = 89.99 → 89.9: B, not a rounded-up 90.0 A
    s = compute([t("SEC-001", "low", passing=8999, failing=1001)])
    assert s["overall"]["score"] == 89.9 and s["overall"]["grade"] == "B"
    exact = compute([t("SEC-001", "low", passing=9, failing=1)])
    assert exact["overall"]["score"] == 90.0 and exact["overall"]["grade"] == "A"


def test_coverage_never_shows_complete_while_anything_is_missing() -> None:
    tallies = [t(f"SEC-{i:03d}", passing=10) for i in range(999)]
    tallies.append(t("SEC-999", passing=9999, error=1, object_unevaluated=1, object_sample="Pod x: bad quantity"))
    s = compute(tallies, state="completed")
    assert s["overall"]["checks_applicable"] == 1000
    assert s["overall"]["coverage"] == 99.9
    [entry] = s["not_evaluated"]
    assert entry["why"] == "partial" and entry["evaluated"] == 0.999  # cut, not rounded up to 1.0
    assert entry["message"] == "1 of 10000 results are error/timeout, e.g. Pod x: bad quantity"
    assert s["overall"]["checks_evaluated"] == 999.999


# -- scores through storage (SQLite and PostgreSQL) -----------------------------------------------


def test_severity_weighted_ratio(db: Database) -> None:
    s = scored(
        db,
        [
            (chk("SEC-001", "critical"), rows(passing=9, failing=1)),  # 90 of 100
            (chk("SEC-002", "low"), rows(failing=10)),  # 0 of 10
            (chk("SEC-003", "medium"), rows(passing=2)),  # 6 of 6
        ],
    )
    sec = s["pillars"]["security"]
    assert (sec["weighted_passing"], sec["weighted_total"]) == (96.0, 116.0)
    assert sec["score"] == 82.7 and sec["grade"] == "B"  # 96/116 = 82.758…
    assert sec["counts"]["passing"] == 11 and sec["counts"]["failing"] == 11
    assert sec["findings"] == {"critical": {"failing": 1, "warning": 0}, "low": {"failing": 10, "warning": 0}}
    assert s["overall"]["score"] == sec["score"]  # one pillar: the same ratio
    assert s["method"]["weights"] == {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}


def test_a_check_whose_rows_disagree_on_severity_is_weighted_per_row(db: Database) -> None:
    # kwa writes one severity per check and run; rows from elsewhere may not, and must not be mis-weighted.
    rid = new_run(db, check_ids=["SEC-001"])
    write(db, rid, [(chk("SEC-001", "critical"), rows(passing=1)), (chk("SEC-001", "low"), rows(failing=1, error=1))])
    finish_run(db, rid, "completed")
    hist = get_history(db, rid)
    s = hist["scores"]
    assert (s["overall"]["weighted_passing"], s["overall"]["weighted_total"]) == (10.0, 11.0)
    assert s["overall"]["score"] == 90.9 and s["overall"]["findings"] == {"low": {"failing": 1, "warning": 0}}
    assert s["overall"]["checks_applicable"] == 1 and s["overall"]["coverage"] == 66.6  # 2 of 3 verdicts
    assert hist["pillar_counts"] == {"security": {"passing": 1, "failing": 1, "error": 1}}


def test_warning_costs_half_a_failure_and_earns_nothing(db: Database) -> None:
    s = scored(
        db,
        [
            (chk("SEC-001", "high"), rows(passing=1, warning=1)),  # 5 / (5 + 2.5)
            (chk("REL-001", "high"), rows(warning=4)),  # 0 / 10
        ],
    )
    assert s["pillars"]["security"]["score"] == 66.6 and s["pillars"]["security"]["grade"] == "D"
    assert s["pillars"]["security"]["weighted_total"] == 7.5
    assert s["pillars"]["reliability"]["score"] == 0.0 and s["pillars"]["reliability"]["grade"] == "F"
    assert s["overall"]["score"] == 28.5  # 5 / 17.5
    assert s["method"]["warning_factor"] == 0.5


def test_overall_is_the_ratio_over_all_rows_not_the_mean_of_pillars(db: Database) -> None:
    s = scored(
        db,
        [
            (chk("SEC-001", "critical"), rows(passing=1)),  # security 100
            (chk("REL-001", "critical"), rows(passing=1, failing=9)),  # reliability 10
        ],
    )
    assert s["pillars"]["security"]["score"] == 100.0 and s["pillars"]["reliability"]["score"] == 10.0
    assert s["overall"]["score"] == 18.1  # 20 / 110, not (100 + 10) / 2 = 55
    assert s["overall"]["grade"] == "F"
    assert s["pillar_order"] == ["security", "reliability"]


def test_exempted_rows_are_counted_but_not_scored(db: Database) -> None:
    exempt = [row("skipped", 100 + i, reason="exempt:annotation: legacy app") for i in range(5)]
    not_applicable = [row("skipped", 200, reason="not-applicable")]
    s = scored(db, [(chk("SEC-001", "critical"), rows(passing=1, failing=1) + exempt + not_applicable)])
    sec = s["pillars"]["security"]
    assert sec["score"] == 50.0 and sec["grade"] == "E"
    assert sec["exempted"] == 5 and s["overall"]["exempted"] == 5
    assert sec["counts"]["skipped"] == 6
    assert sec["coverage"] == 100.0 and s["not_evaluated"] == []


def test_an_all_exempted_check_is_evaluated_but_unscored(db: Database) -> None:
    exempt = [row("skipped", i, reason="exempt:config: kube-system") for i in range(3)]
    s = scored(db, [(chk("SEC-001"), exempt)])
    assert s["overall"]["score"] is None and s["overall"]["grade"] is None
    assert s["overall"]["coverage"] == 100.0 and s["overall"]["exempted"] == 3


def test_info_checks_do_not_move_the_score(db: Database) -> None:
    s = scored(
        db,
        [
            (chk("OPS-001", "info"), rows(failing=50, warning=50)),
            (chk("SEC-001", "high"), rows(passing=3, failing=1)),
        ],
    )
    ops = s["pillars"]["operational-excellence"]
    assert ops["score"] is None and ops["grade"] is None and ops["weighted_total"] == 0.0
    assert ops["counts"]["failing"] == 50 and ops["findings"] == {"info": {"failing": 50, "warning": 50}}
    assert ops["coverage"] == 100.0
    assert s["overall"]["score"] == 75.0 == s["pillars"]["security"]["score"]


def test_no_rows_means_no_score_not_100(db: Database) -> None:
    rid = new_run(db, check_ids=[], pillars=[])
    finish_run(db, rid, "completed")
    s = get_history(db, rid)["scores"]
    assert s["overall"]["score"] is None and s["overall"]["grade"] is None
    assert s["overall"]["coverage"] is None and s["pillars"] == {} and s["not_evaluated"] == []


def test_a_check_that_ran_with_nothing_to_judge_is_covered(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "REL-001"])
    write(db, rid, [(chk("SEC-001"), rows(passing=2))])
    finish_run(db, rid, "completed")  # REL-001 executed and found no object
    s = get_history(db, rid)["scores"]
    assert s["overall"]["checks_applicable"] == 2 and s["overall"]["coverage"] == 100.0
    assert s["pillars"]["reliability"]["score"] is None and s["pillars"]["reliability"]["coverage"] == 100.0


def test_coverage_with_forbidden_timeouts_requires_live_and_partial_checks(db: Database) -> None:
    s = scored(
        db,
        [
            (chk("SEC-001", "critical"), rows(passing=10)),  # evaluated
            (chk("SEC-002", "critical"), [check_level("error", FORBIDDEN)]),  # 403: not evaluated
            (chk("SEC-003"), [check_level("timeout", "check did not finish within its 30s timeout")]),
            (chk("SEC-004"), [check_level("skipped", "needs a live cluster", "requires-live")]),  # not applicable
            (chk("SEC-005"), [check_level("skipped", "no metrics.k8s.io", "requires-metrics")]),  # not applicable
            (chk("SEC-006"), [check_level("skipped", "check is disabled", "disabled")]),  # not applicable
            (chk("SEC-007", "low"), rows(passing=3, error=1)),  # 3 of 4 evaluated
            (chk("REL-001"), [check_level("error", "ZeroDivisionError: division by zero")]),  # a crash
        ],
        state="partial",
    )
    sec, rel = s["pillars"]["security"], s["pillars"]["reliability"]
    # What it saw was all green, but it saw under half: incomplete, no score, no grade.
    assert sec["score"] is None and sec["grade"] is None and sec["incomplete"] is True
    assert sec["measured_score"] == 100.0
    assert sec["checks_applicable"] == 4 and sec["checks_not_applicable"] == 3
    assert sec["checks_evaluated"] == 1.75 and sec["coverage"] == 43.7  # 1.75 / 4, truncated
    assert rel["score"] is None and rel["coverage"] == 0.0 and rel["incomplete"] is True
    assert s["overall"]["coverage"] == 35.0 and s["overall"]["checks_applicable"] == 5  # 1.75 / 5
    assert s["overall"]["incomplete"] is True and s["overall"]["score"] is None
    assert s["incomplete_pillars"] == ["security", "reliability"]
    why = {e["check_id"]: (e["why"], e["applicable"], e["evaluated"]) for e in s["not_evaluated"]}
    assert why == {
        "REL-001": ("error", True, 0.0),
        "SEC-002": ("resource-not-listed", True, 0.0),
        "SEC-003": ("timeout", True, 0.0),
        "SEC-004": ("requires-live", False, 0.0),
        "SEC-005": ("requires-metrics", False, 0.0),
        "SEC-006": ("disabled", False, 0.0),
        "SEC-007": ("partial", True, 0.75),
    }
    by_id = {e["check_id"]: e for e in s["not_evaluated"]}
    assert by_id["SEC-002"]["message"] == FORBIDDEN and by_id["SEC-002"]["severity"] == "critical"
    assert by_id["REL-001"]["message"] == "ZeroDivisionError: division by zero"
    assert by_id["SEC-007"]["message"].startswith("1 of 4 results are error/timeout, e.g. object")
    assert [e["check_id"] for e in s["not_evaluated"]] == sorted(by_id)


def test_only_skipped_checks_leave_coverage_undefined(db: Database) -> None:
    s = scored(db, [(chk("SEC-004"), [check_level("skipped", "needs a live cluster", "requires-live")])])
    assert s["overall"]["coverage"] is None and s["overall"]["checks_not_applicable"] == 1
    assert s["overall"]["score"] is None


# -- coverage is part of the verdict --------------------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "coverage", "expected"),
    [
        (91.4, 100.0, (91.4, "A", False, False)),
        (91.4, 90.0, (91.4, "A", False, False)),  # a band edge is in the band
        (91.4, 89.9, (91.4, "B", True, False)),
        (91.4, 69.0, (91.4, "D", True, False)),
        (91.4, 50.0, (91.4, "E", True, False)),
        (91.4, 49.9, (None, None, False, True)),  # below the F band: incomplete
        (0.0, 31.0, (None, None, False, True)),  # the 403 run's security pillar: 0 (F) at 31 %
        (40.0, 75.0, (40.0, "F", False, False)),  # the score's band is already worse: not capped
        (75.0, None, (75.0, "C", False, False)),  # nothing applicable caps nothing
        (None, 100.0, (None, None, False, False)),  # nothing to score
        (None, 0.0, (None, None, False, True)),  # a failed run with no results: incomplete
    ],
)
def test_coverage_rule(measured: float | None, coverage: float | None, expected: tuple) -> None:
    v = verdict(measured, coverage)
    assert (v["score"], v["grade"], v["grade_capped"], v["incomplete"]) == expected
    assert v["measured_score"] == measured
    if v["grade_capped"]:
        assert v["uncapped_grade"] == grade(measured) != v["grade"]


def test_the_403_run_of_issue_10_is_incomplete_not_an_a() -> None:
    """Deployments forbidden: the checks that need them error, the rest is mostly green."""
    forbidden = [Tally(f"SEC-{i:03d}", "security", "critical", whole_status="error", whole_message=FORBIDDEN)
                 for i in range(1, 11)]  # fmt: skip
    ok = [t(f"REL-{i:03d}", "medium", passing=9, failing=1) for i in range(1, 5)] + [t("SEC-011", passing=1)]
    s = compute([*forbidden, *ok], state="partial")
    assert s["overall"]["coverage"] == 33.3 and s["overall"]["measured_score"] == 90.4
    assert s["overall"]["incomplete"] and s["overall"]["grade"] is None
    assert s["pillars"]["security"]["incomplete"] and s["pillars"]["security"]["score"] is None
    assert s["pillars"]["reliability"]["grade"] == "A" and not s["pillars"]["reliability"]["incomplete"]
    assert s["incomplete_pillars"] == ["security"]
    assert s["version"] == SCORES_VERSION == 2
    assert s["method"]["coverage_rule"] == {"incomplete_below": 50.0, "grade_capped_by_coverage": True}


def test_a_missing_pillar_caps_the_overall_grade() -> None:
    tallies = [t(f"REL-{i:03d}", passing=10) for i in range(1, 8)]
    tallies += [Tally(f"SEC-{i:03d}", "security", "critical", whole_status="timeout", whole_message="deadline")
                for i in range(1, 4)]  # fmt: skip
    s = compute(tallies, state="partial")
    overall = s["overall"]
    assert overall["score"] == 100.0 and overall["coverage"] == 70.0
    assert overall["grade"] == "C" and overall["grade_capped"] and overall["uncapped_grade"] == "A"
    assert score_text(overall) == "100 (C, capped)" and coverage_text(overall["coverage"]) == "70 %"


def test_score_text() -> None:
    assert score_text({"score": 61.5, "grade": "D"}) == "61.5 (D)"
    assert score_text({"score": 91.4, "grade": "D", "grade_capped": True}) == "91.4 (D, capped)"
    assert score_text({"score": None, "incomplete": True, "measured_score": 99.0}) == "incomplete"
    assert score_text({"score": None}) == score_text(None) == score_text(float("nan")) == "-"
    assert score_text(72.5) == "72.5" and coverage_text(None) == "-" and coverage_text(99.9) == "99.9 %"


def test_version_1_history_reads_by_the_current_rule() -> None:
    v1 = {
        "version": 1,
        "method": {"weights": {}, "warning_factor": 0.5, "grades": {}},
        "overall": {"score": 91.4, "grade": "A", "coverage": 69.0, "checks_applicable": 100},
        "pillars": {"security": {"score": 0.0, "grade": "F", "coverage": 31.0},
                    "cost": {"score": 80.0, "grade": "B", "coverage": 100.0}},
        "pillar_order": ["security", "cost"],
        "not_evaluated": [{"check_id": "SEC-001", "why": "resource-not-listed"}],
    }  # fmt: skip
    n = normalise(v1)
    assert n["version"] == 2 and n["recomputed_from"] == 1 and n["incomplete_pillars"] == ["security"]
    assert n["overall"] | {} == {**v1["overall"], **verdict(91.4, 69.0)}
    assert n["overall"]["grade"] == "D" and n["overall"]["grade_capped"]
    assert n["pillars"]["security"]["incomplete"] and n["pillars"]["security"]["measured_score"] == 0.0
    assert n["pillars"]["cost"]["grade"] == "B" and n["not_evaluated"] == v1["not_evaluated"]
    assert v1["overall"]["grade"] == "A"  # the stored document is not modified
    current = compute([t("SEC-001", passing=1)], state="completed")
    assert normalise(current) is current  # the current version, and shapes of a caller's own, as stored
    assert normalise({"overall": {"score": 99.0}}) == {"overall": {"score": 99.0}}
    assert normalise(None) is None


def test_run_scores_normalises_stored_version_1(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001"])
    write(db, rid, [(chk("SEC-001"), rows(passing=3))])
    finish_run(db, rid, "completed")
    old = {"version": 1, "overall": {"score": 95.0, "grade": "A", "coverage": 40.0}, "pillars": {}}
    with db.begin() as conn:
        conn.execute(update(history_table).where(history_table.c.run_id == rid).values(scores=old))
    s = run_scores(db, rid)
    assert s["overall"]["incomplete"] and s["overall"]["score"] is None and s["recomputed_from"] == 1


# -- stored with the history row ------------------------------------------------------------------


def test_scores_stored_on_finish_partial(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "SEC-002", "REL-001"])
    write(db, rid, [(chk("SEC-001"), rows(passing=4)), (chk("SEC-002"), [check_level("error", FORBIDDEN)])])
    summary = {"checks_not_executed": {"REL-001": {"outcome": "cancelled", "message": "cancelled before it ran"}}}
    finish_run(db, rid, "partial", summary=summary)
    s = get_history(db, rid)["scores"]
    assert s["overall"]["measured_score"] == 100.0 and s["overall"]["coverage"] == 33.3
    assert s["overall"]["score"] is None and s["overall"]["incomplete"]  # a third evaluated: no score
    rel = next(e for e in s["not_evaluated"] if e["check_id"] == "REL-001")
    assert rel == {
        "check_id": "REL-001",
        "pillar": "reliability",
        "severity": None,
        "why": "not-run",
        "message": "cancelled before it ran",
        "applicable": True,
        "evaluated": 0.0,
    }
    assert s["pillars"]["reliability"]["coverage"] == 0.0


def test_scores_stored_on_fail_with_the_results_it_has(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "SEC-002"])
    write(db, rid, [(chk("SEC-001"), rows(passing=1, failing=1))])
    fail_run(db, rid, "run-level timeout of 300s exceeded")
    s = get_history(db, rid)["scores"]
    assert s["overall"]["score"] == 50.0 and s["overall"]["coverage"] == 50.0
    assert s["overall"]["grade"] == "E" and not s["overall"]["incomplete"]  # exactly half: scored, E at best
    [missing] = s["not_evaluated"]
    assert missing["check_id"] == "SEC-002" and missing["why"] == "not-run"
    assert "run ended before this check reported" in missing["message"]


def test_scores_stored_on_abort_of_a_queued_run(db: Database) -> None:
    rid = new_run(db, start=False, check_ids=["SEC-001", "COST-001", "XYZ-001"])
    abort_run(db, rid, "cancelled from Prefect")
    s = get_history(db, rid)["scores"]
    assert s["overall"]["score"] is None and s["overall"]["coverage"] == 0.0
    assert s["overall"]["checks_applicable"] == 3
    assert s["pillar_order"] == ["security", "cost"]  # XYZ-001 has no known pillar: overall only
    assert [e["pillar"] for e in s["not_evaluated"]] == ["cost", "security", None]


def test_caller_scores_win(db: Database) -> None:
    rid = new_run(db)
    write(db, rid, [(chk("SEC-001"), rows(failing=3))])
    finish_run(db, rid, "completed", history={"scores": {"overall": {"score": 99.0}}})
    assert get_history(db, rid)["scores"] == {"overall": {"score": 99.0}}


def test_run_scores_reads_stored_or_computes(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "SEC-002"])
    write(db, rid, [(chk("SEC-001"), rows(passing=3, failing=1))])
    live = run_scores(db, rid)  # still running: SEC-002 has not reported yet
    assert live["overall"]["score"] == 75.0 and live["overall"]["coverage"] == 50.0
    [pending] = live["not_evaluated"]
    assert (pending["why"], pending["message"]) == ("pending", "no results yet: the run is running")

    finish_run(db, rid, "completed")  # SEC-002 ran and found nothing
    stored = get_history(db, rid)["scores"]
    assert run_scores(db, rid) == stored and stored["overall"]["coverage"] == 100.0

    with db.begin() as conn:  # a history row from before scores existed
        conn.execute(update(history_table).where(history_table.c.run_id == rid).values(scores=None))
    assert run_scores(db, rid) == stored

    with pytest.raises(RunNotFound, match="run nope does not exist"):
        run_scores(db, "nope")


# -- speed ----------------------------------------------------------------------------------------

SEVERITIES = ("critical", "high", "medium", "low", "info")
PILLARS = ("security", "reliability", "performance", "cost", "operational-excellence", "sustainability")


def _bulk_rows(db: Database, run_id: str, n: int) -> None:
    """``n`` rows over 100 checks straight in SQL (a ResultWriter would take ~10 s per million).

    99 checks of ~10,000 rows each, statuses cycling passing ×5, failing, warning, skipped (not
    applicable), skipped (exempted), error; plus ``SEC-0``, one check-level 403 error row.
    """
    gen = (
        "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1) SELECT i FROM seq"
        if db.is_sqlite
        else "SELECT generate_series(0, :n - 1) AS i"
    )
    status = "CASE i % 10 WHEN 5 THEN 'failing' WHEN 6 THEN 'warning' WHEN 7 THEN 'skipped' " \
             "WHEN 8 THEN 'skipped' WHEN 9 THEN 'error' ELSE 'passing' END"  # fmt: skip
    check = "i * 99 / :n + 1"  # contiguous per check, as a ResultWriter writes them
    pillar = "CASE (" + check + ") % 6 " + " ".join(f"WHEN {k} THEN '{p}'" for k, p in enumerate(PILLARS)) + " END"
    severity = "CASE (" + check + ") % 5 " + " ".join(f"WHEN {k} THEN '{s}'" for k, s in enumerate(SEVERITIES)) + " END"
    concat = "||"
    sql = f"""
        INSERT INTO assessments (id, run_id, pillar, check_id, check_name, severity, status, object_kind,
                                 object_namespace, object_name, message, reason, assessed_at)
        SELECT 'asm_' {concat} CAST(i AS TEXT), :run_id, {pillar}, 'SEC-' {concat} CAST({check} AS TEXT), 'bench',
               {severity}, {status}, 'Deployment', 'ns', 'app-' {concat} CAST(i AS TEXT), 'message',
               CASE i % 10 WHEN 8 THEN 'exempt:annotation' WHEN 7 THEN 'not-applicable' END, :ts
        FROM ({gen}) AS g
    """
    with db.begin() as conn:
        conn.execute(text(sql), {"n": n, "run_id": run_id, "ts": NOW.replace(tzinfo=None)})
        conn.execute(
            text(
                "INSERT INTO assessments (id, run_id, pillar, check_id, check_name, severity, status, message, "
                "assessed_at) VALUES ('asm_forbidden', :run_id, 'security', 'SEC-0', 'bench', 'critical', 'error', "
                ":m, :ts)"
            ),
            {"run_id": run_id, "m": FORBIDDEN, "ts": NOW.replace(tzinfo=None)},
        )


def test_scoring_a_million_rows(db: Database, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A measurement, printed; the assertions check the numbers, not the time.

    1,000,000 rows on SQLite; 200,000 on PostgreSQL, where filling a million rows alone costs ~25 s
    (``KWA_SCORES_BENCH_ROWS`` sets both).
    """
    default = 1_000_000 if backend == "sqlite" else 200_000
    n = int(os.environ.get("KWA_SCORES_BENCH_ROWS") or default)
    run = create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="b", source="bench", trigger="manual")
    start_run(db, run["run_id"])
    started = time.perf_counter()
    _bulk_rows(db, run["run_id"], n)
    filled = time.perf_counter() - started

    started = time.perf_counter()
    with db.read() as conn:
        tallies = tally(conn, run["run_id"])
    grouped = time.perf_counter() - started
    started = time.perf_counter()
    s = compute(tallies, state="running")
    computed = time.perf_counter() - started
    started = time.perf_counter()
    finish_run(db, run["run_id"], "partial")
    finished = time.perf_counter() - started

    assert sum(sum(x.counts.values()) for x in tallies) == n + 1
    assert len(tallies) == 100  # one group per check
    assert get_history(db, run["run_id"])["scores"] == compute(tallies, state="partial") == s
    assert s["overall"]["exempted"] == n // 10
    assert s["overall"]["counts"]["error"] == n // 10 + 1
    assert s["overall"]["checks_applicable"] == 100
    assert 0 < s["overall"]["coverage"] < 100 and 0 < s["overall"]["score"] < 100
    with capsys.disabled():
        print(
            f"\n[scores {backend}] {n:,} rows: insert {filled:.2f} s; scoring GROUP BY {grouped:.3f} s "
            f"({len(tallies)} groups), compute {computed * 1000:.1f} ms; "
            f"finish_run with history and scores {finished:.3f} s"
        )
