"""storage.gates: the CI gate rules, and their exit code through ``summary``."""

from __future__ import annotations

import json

import pytest

from storage.gates import GATE_EXIT, GateError, evaluate_gates, parse_fail_on, parse_min_score
from tests.cli.builder import RUN_1, RUN_2, RUN_FAILED, RUN_WARN


def summary(failing: dict[str, int] | None = None, scores: dict | None = None, state: str = "completed") -> dict:
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


def test_min_score_overall_and_per_pillar() -> None:
    scores = {"overall": {"score": 72.5, "grade": "C"}, "pillars": {"security": {"score": 64.0}, "cost": {"score": 90}}}
    assert evaluate_gates(summary(scores=scores), min_score={"overall": 70, "cost": 90}) == []
    violations = evaluate_gates(summary(scores=scores), min_score={"overall": 80, "security": 65})
    assert [(v.subject, v.actual, v.threshold) for v in violations] == [("overall", 72.5, 80), ("security", 64.0, 65)]
    assert evaluate_gates(summary(scores=scores), min_score=72.5) == []


def test_a_gate_that_cannot_be_checked_rejects() -> None:
    (v,) = evaluate_gates(summary(scores=None), min_score={"overall": 50})
    assert v.rule == "min-score" and "no scores are recorded" in v.message
    (v,) = evaluate_gates(summary(scores={"overall": {"score": 99}, "pillars": {}}), min_score={"sustainability": 50})
    assert "was not scored" in v.message


def test_failed_and_aborted_runs_are_rejected_when_gated() -> None:
    for state in ("failed", "aborted"):
        (v,) = evaluate_gates(summary(state=state), fail_on="critical")
        assert v.rule == "run-state" and state in v.message
    assert evaluate_gates(summary(state="partial"), fail_on="critical") == []


def test_parsing() -> None:
    assert parse_fail_on("HIGH") == "high" and parse_fail_on(None) is None
    assert parse_min_score(["80", "security=90,cost=60.5"]) == {"overall": 80, "security": 90, "cost": 60.5}
    for bad in ("abc", "101", "security=", "=5", "-1"):
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
    assert code == GATE_EXIT == 6
    doc = json.loads(out)
    assert doc["gate"]["passed"] is False and doc["gate"]["violations"][0]["rule"] == "fail-on"
    assert "gate rejected run" in err and "SEC-001" in err  # machine formats: the reason goes to stderr
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_2, "--min-score", "security=31", "-o", "sarif")
    assert code == 6 and "security score 30 is below the minimum 31" in err
    code, _, err = kwa("query", "assessments", "summary", "--run", RUN_FAILED, "--fail-on", "low", "-o", "json")
    assert code == 6 and "ended failed" in err
    code, _, err = kwa("query", "assessments", "summary", "--min-score", "lots")
    assert code == 2 and "--min-score" in err
