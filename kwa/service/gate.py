"""The gate's outcome for one run: the CLI's ``--fail-on`` / ``--min-score`` / ``--min-coverage``
rules (storage.gates), judged as ``kwa query assessments summary`` judges them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kwa.service.problems import Problem


def parse_gate(gate: Mapping[str, Any]) -> tuple[str | None, dict[str, float], dict[str, float] | None]:
    """``(fail_on, min_score, min_coverage)`` or a 400 problem naming the bad value."""
    from storage.gates import GateError, parse_fail_on, parse_min_coverage, parse_min_score

    try:
        fail_on = parse_fail_on(gate.get("fail_on"))
        min_score = parse_min_score(list(gate.get("min_score") or []))
        requested = fail_on is not None or bool(min_score)
        return fail_on, min_score, parse_min_coverage(list(gate.get("min_coverage") or []), requested=requested)
    except GateError as exc:
        raise Problem(400, "bad-request", f"gate: {exc}") from None


def gate_outcome(db: Any, run: Mapping[str, Any], gate: Mapping[str, Any]) -> dict[str, Any]:
    """``passed`` / ``rejected`` (with the violations), ``pending`` while the run is active, or
    ``not_applied`` when the run assessed nothing (no gate passes or fails on nothing)."""
    from storage.assessed import nothing_assessed
    from storage.enums import is_terminal
    from storage.gates import evaluate_gates, gate_findings
    from storage.queries import run_summary

    fail_on, min_score, min_coverage = parse_gate(gate)
    out: dict[str, Any] = {
        "fail_on": fail_on,
        "min_score": min_score,
        "min_coverage": min_coverage,
        "violations": [],
        "reason": None,
    }
    if min_coverage is None:
        return {**out, "outcome": "not_applied", "reason": "no gate was asked for"}
    if not is_terminal(run["state"]):
        return {**out, "outcome": "pending", "reason": f"the run is {run['state']}"}
    summary = run_summary(db, run["run_id"], None)
    nothing = nothing_assessed(summary["run"], summary["totals"])
    if nothing:
        return {**out, "outcome": "not_applied", "reason": f"nothing was assessed: {nothing}"}
    failing = summary.get("failing_by_severity") or {}
    findings = gate_findings(db, run["run_id"], fail_on) if fail_on and any(failing.values()) else []
    violations = evaluate_gates(
        summary, fail_on=fail_on, min_score=min_score, min_coverage=min_coverage, findings=findings
    )
    out["violations"] = [v.as_dict() for v in violations]
    return {**out, "outcome": "rejected" if violations else "passed"}
