"""storage.gates: the CI gate rules, and their exit code through ``summary``."""

from __future__ import annotations

import json

import pytest

from kwa.exit_codes import ExitCode
from storage.gates import (
    DEFAULT_MIN_COVERAGE,
    MIN_COVERAGE_ENV,
    GateError,
    evaluate_gates,
    parse_fail_on,
    parse_min_coverage,
    parse_min_score,
)
from storage.grades import verdict
from tests.cli.builder import RUN_1, RUN_2, RUN_FAILED, RUN_WARN

COMPLETE = {"overall": {"score": 100.0, "grade": "A", "coverage": 100.0}, "pillars": {}}
FORBIDDEN = "cannot evaluate, resource not listed: Deployment: forbidden: apps/deployments (HTTP 403)"


def scope(score: float | None, coverage: float | None, applicable: int = 10) -> dict:
    return {**verdict(score, coverage), "coverage": coverage, "checks_applicable": applicable}


def summary(failing: dict[str, int] | None = None, scores: dict | None = COMPLETE, state: str = "completed") -> dict:
    failing = failing or {}
    return {
        "run": {"run_id": "run_x", "state": state},
        "state": state,
        "failing_by_severity": failing,
        "checks": [
            {"check_id": f"C-{sev}", "severity": sev, "counts": {"failing": n}} for sev, n in failing.items() if n
        ],
        "scores": scores,
    }


def test_no_gate_no_violation() -> None:
    assert evaluate_gates(summary({"critical": 3}, state="failed")) == []


@pytest.mark.parametrize(
    ("fail_on", "rejected"),
    [("critical", False), ("high", True), ("medium", True), ("low", True), ("info", True)],
)
def test_fail_on_is_a_severity_threshold(fail_on: str, rejected: bool) -> None:
    violations = evaluate_gates(summary({"critical": 0, "high": 2, "low": 1}), fail_on=fail_on)
    assert bool(violations) is rejected
    if rejected:
        assert violations[0].rule == "fail-on" and violations[0].subject == "high"
        assert "2 failing high results" in violations[0].message and "C-high" in violations[0].message


def test_with_a_baseline_fail_on_judges_only_the_new_findings_and_scores_the_whole_run() -> None:
    def row(check: str, severity: str, name: str) -> dict:
        return {"check_id": check, "severity": severity, "status": "failing", "object_kind": "Deployment",
                "object_namespace": "shop", "object_name": name, "container": "app", "message": "m"}  # fmt: skip

    run = summary({"critical": 5, "high": 2})
    # Every failing result is known: the gate passes although five are critical.
    assert evaluate_gates(run, fail_on="high", new_failing=[]) == []
    new = [row("SEC-002", "high", "b"), row("SEC-001", "critical", "z"), row("SEC-001", "critical", "a")]
    violations = evaluate_gates(run, fail_on="high", new_failing=new)
    assert [(v.subject, v.actual) for v in violations] == [("critical", 2), ("high", 1)]
    assert violations[0].message == (
        "2 new failing critical results not in the baseline (--fail-on high; 3 known left out): SEC-001"
    )
    assert [o["object_name"] for o in violations[0].objects] == ["a", "z"] and violations[0].more == 0
    assert violations[0].lines()[0] == "critical  SEC-001  Deployment/shop/a (container app)"
    # A new finding below the threshold does not fail it; the score rule still sees the whole run.
    assert evaluate_gates(run, fail_on="critical", new_failing=[row("SEC-002", "high", "b")]) == []
    low = {"overall": {"score": 40.0, "grade": "F", "coverage": 100.0}, "pillars": {}}
    rejected = evaluate_gates(summary({"critical": 5}, scores=low), fail_on="critical", min_score=80, new_failing=[])
    assert [v.rule for v in rejected] == ["min-score"]


def test_min_score_overall_and_per_pillar() -> None:
    scores = {
        "overall": {"score": 72.5, "grade": "C", "coverage": 100.0},
        "pillars": {"security": {"score": 64.0, "coverage": 100.0}, "cost": {"score": 90, "coverage": 95.0}},
    }
    assert evaluate_gates(summary(scores=scores), min_score={"overall": 70, "cost": 90}) == []
    violations = evaluate_gates(summary(scores=scores), min_score={"overall": 80, "security": 65})
    assert [(v.subject, v.actual, v.threshold) for v in violations] == [("overall", 72.5, 80), ("security", 64.0, 65)]
    assert evaluate_gates(summary(scores=scores), min_score=72.5) == []


def test_a_gate_that_cannot_be_checked_rejects() -> None:
    cov, score = evaluate_gates(summary(scores=None), min_score={"overall": 50})
    assert cov.rule == "coverage" and "no scores are recorded" in cov.message
    assert score.rule == "min-score" and "no scores are recorded" in score.message
    scores = {"overall": {"score": 99, "coverage": 100.0}, "pillars": {}}
    (v,) = evaluate_gates(summary(scores=scores), min_score={"sustainability": 50})
    assert "was not scored" in v.message


def test_failed_and_aborted_runs_are_rejected_when_gated() -> None:
    for state in ("failed", "aborted"):
        (v,) = evaluate_gates(summary(state=state), fail_on="critical")
        assert v.rule == "run-state" and state in v.message
    assert evaluate_gates(summary(state="partial"), fail_on="critical") == []


def the_403_run(overall_coverage: float = 31.0) -> dict:
    """Issue 10's run: Deployments forbidden, security unevaluated, the rest green."""
    not_evaluated = [
        {"check_id": f"SEC-{i:03d}", "pillar": "security", "severity": "critical", "why": "resource-not-listed",
         "message": FORBIDDEN, "applicable": True, "evaluated": 0.0} for i in range(1, 8)
    ] + [
        {"check_id": "REL-009", "pillar": "reliability", "severity": "high", "why": "timeout",
         "message": "check did not finish within its 30s timeout", "applicable": True, "evaluated": 0.0},
        {"check_id": "SEC-020", "pillar": "security", "severity": "low", "why": "requires-live", "message": "",
         "applicable": False, "evaluated": 0.0},
    ]  # fmt: skip
    return {
        "overall": scope(91.4, overall_coverage, 32),
        "pillars": {"security": scope(0.0, 0.0, 7), "reliability": scope(95.0, 96.0, 25)},
        "not_evaluated": not_evaluated,
    }


def test_low_coverage_rejects_every_gate_and_says_what_was_not_evaluated() -> None:
    scores = the_403_run()
    for gate in ({"fail_on": "critical"}, {"min_score": {"overall": 80}}, {"min_coverage": {"overall": 90}}):
        violations = evaluate_gates(summary(scores=scores, state="partial"), **gate)
        cov = [v for v in violations if v.rule == "coverage"]
        assert [(v.subject, v.actual, v.threshold) for v in cov] == [("overall", 31.0, 90), ("security", 0.0, 50)]
        assert cov[0].message.startswith("coverage 31 % is below the minimum 90 % (--min-coverage): ")
        assert "8 of 32 applicable checks not fully evaluated" in cov[0].message
        assert "resource not listed (Deployment: forbidden: apps/deployments (HTTP 403)): SEC-001" in cov[0].message
        assert "SEC-005 and 2 more" in cov[0].message and "timeout: REL-009" in cov[0].message
        assert "SEC-020" not in cov[0].message  # not applicable is not missing
        assert cov[1].message.startswith("security coverage 0 % is below 50 %: the pillar is incomplete")
        assert "7 of 7 applicable checks" in cov[1].message and "REL-009" not in cov[1].message
    (score,) = [v for v in evaluate_gates(summary(scores=scores), min_score={"overall": 80}) if v.rule == "min-score"]
    assert score.message == "the run is incomplete (coverage 31 %): it has no score: cannot check --min-score 80"


def test_coverage_policy_floors() -> None:
    scores = the_403_run(overall_coverage=92.0)  # a big run: overall fine, security incomplete
    (v,) = evaluate_gates(summary(scores=scores), fail_on="critical")
    assert (v.rule, v.subject) == ("coverage", "security")
    # Lowering the overall minimum lowers the pillar floor with it; 0 turns the implicit rules off.
    assert [v.subject for v in evaluate_gates(summary(scores=scores), min_coverage={"overall": 0})] == []
    (v,) = evaluate_gates(summary(scores=scores), min_coverage={"overall": 0, "reliability": 97})
    assert (v.subject, v.actual, v.threshold) == ("reliability", 96.0, 97)
    assert "the minimum 97 % for reliability" in v.message and "timeout: REL-009" in v.message
    # A pillar named by --min-score must meet the overall minimum, not only the incomplete floor.
    scores["pillars"]["reliability"] = scope(95.0, 85.0, 25)
    got = evaluate_gates(summary(scores=scores), min_score={"reliability": 90}, min_coverage={"overall": 80})
    assert [(v.rule, v.subject) for v in got] == [("coverage", "security")]
    got = evaluate_gates(summary(scores=scores), min_score={"reliability": 90})
    assert [(v.rule, v.subject) for v in got] == [("coverage", "security"), ("coverage", "reliability")]
    assert "needed for --min-score reliability" in got[1].message
    # A pillar asked for that the run did not assess.
    (v,) = evaluate_gates(summary(), min_coverage={"overall": 90, "cost": 50})
    assert v.subject == "cost" and "was not assessed" in v.message
    # Nothing applicable at all: nothing to vouch for.
    (v,) = evaluate_gates(summary(scores={"overall": scope(None, None), "pillars": {}}), fail_on="high")
    assert v.rule == "coverage" and "no applicable check was evaluated" in v.message


def test_parse_min_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIN_COVERAGE_ENV, raising=False)
    assert parse_min_coverage(None, requested=False) is None  # no gate asked for
    assert parse_min_coverage(None) == {"overall": DEFAULT_MIN_COVERAGE} == {"overall": 90}
    assert parse_min_coverage(["95%", "security=100"]) == {"overall": 95, "security": 100}
    env = {MIN_COVERAGE_ENV: "80,security=99"}
    assert parse_min_coverage(None, environ=env) == {"overall": 80, "security": 99}
    assert parse_min_coverage(["70"], environ=env) == {"overall": 70, "security": 99}  # the command line wins
    for bad in ("nan", "inf", "101", "-5", "x", "security=", "=3"):
        with pytest.raises(GateError, match="--min-coverage"):
            parse_min_coverage(bad)
    with pytest.raises(GateError, match=r"\$KWA_MIN_COVERAGE '200'"):
        parse_min_coverage(None, environ={MIN_COVERAGE_ENV: "200"})


def test_parsing() -> None:
    assert parse_fail_on("HIGH") == "high" and parse_fail_on(None) is None
    assert parse_min_score(["80", "security=90,cost=60.5"]) == {"overall": 80, "security": 90, "cost": 60.5}
    for bad in ("abc", "101", "security=", "=5", "-1", "nan", "inf", "1e999"):
        with pytest.raises(GateError):
            parse_min_score(bad)
    with pytest.raises(GateError, match="critical, high"):
        parse_fail_on("severe")


def test_summary_gate_exit_codes(kwa) -> None:
    code, out, err = kwa("query", "assessments", "summary", "--run", RUN_WARN, "--fail-on", "low")
    assert code == 0 and "gate passed" in out
    code, out, err = kwa("query", "assessments", "summary", "--run", RUN_1, "--fail-on", "critical")
    assert code == 6 and "[fail-on] 1 failing critical result" in out
    code, out, err = kwa("query", "assessments", "summary", "--run", RUN_2, "--fail-on", "critical", "-o", "json")
    assert code == ExitCode.GATE == 6
    doc = json.loads(out)
    assert doc["gate"]["passed"] is False and doc["gate"]["min_coverage"] == {"overall": 90}
    assert [v["rule"] for v in doc["gate"]["violations"]] == ["coverage", "coverage", "fail-on"]
    assert "gate rejected run" in err and "SEC-001" in err  # machine formats: the reason goes to stderr
    assert "[coverage] coverage 72 % is below the minimum 90 %" in err
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_2, "--min-score", "security=31", "-o", "sarif")
    assert code == 6 and "security score 30 is below the minimum 31" in err
    # Coverage accepted explicitly: only the score decides (and an incomplete pillar still rejects).
    code, _, err = kwa(
        "query", "assessments", "summary", "--run", RUN_2, "--min-score", "security=30", "--min-coverage", "70",
        "-o", "json",
    )  # fmt: skip
    assert code == 6 and "[coverage] operational-excellence coverage 0 % is below 50 %" in err
    assert "OPS-001" in err and "--min-score" not in err
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_2, "--min-coverage", "0", "-o", "csv")
    assert code == 0, err
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_1, "--min-coverage", "100")
    assert code == 0, err  # --min-coverage alone is a gate, and RUN_1 saw everything
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_FAILED, "--fail-on", "low", "-o", "json")
    assert code == 6 and "ended failed" in err
    code, _, err = kwa("query", "assessments", "summary", "--min-score", "lots")
    assert code == 2 and "--min-score" in err
    code, _, err = kwa("query", "assessments", "summary", "--min-coverage", "120")
    assert code == 2 and "--min-coverage '120'" in err


def test_kwa_run_gates_include_coverage(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """``kwa run``'s gate (kwa.verdict.gate) applies the same rules, and a bad value stops it before it runs."""
    from flows.run import main
    from kwa.exit_codes import ExitCode
    from kwa.verdict import gate

    EXIT_PARTIAL = ExitCode.PARTIAL
    from storage.db import Database

    monkeypatch.delenv(MIN_COVERAGE_ENV, raising=False)
    assert main(["--demo", "--min-coverage", "120"]) == 2  # before any Prefect server or run is touched
    assert "--min-coverage '120'" in capsys.readouterr().err
    monkeypatch.setenv(MIN_COVERAGE_ENV, "most")
    assert main(["--demo", "--fail-on", "critical"]) == 2
    assert "$KWA_MIN_COVERAGE 'most'" in capsys.readouterr().err
    monkeypatch.delenv(MIN_COVERAGE_ENV)

    db = Database(cli_db_url)
    try:
        assert gate(db, RUN_2, EXIT_PARTIAL, None, {}, None) == EXIT_PARTIAL  # no gate asked for
        assert gate(db, RUN_2, EXIT_PARTIAL, None, {}, parse_min_coverage(["70"])) == ExitCode.GATE
        err = capsys.readouterr().err
        assert "[coverage] operational-excellence coverage 0 % is below 50 %" in err
        assert gate(db, RUN_1, 0, None, {"overall": 60}, parse_min_coverage(None)) == 0
        assert gate(db, RUN_2, EXIT_PARTIAL, None, {"security": 20}, parse_min_coverage(["0"])) == EXIT_PARTIAL
    finally:
        db.dispose()
