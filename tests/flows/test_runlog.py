"""What the Prefect UI says about checks, pillars and the run (flows.runlog): pure text, no Prefect."""

from __future__ import annotations

import logging

from flows.runlog import (
    KWA_LOGGER_NAMES,
    check_line,
    check_verdict,
    counts_text,
    object_label,
    pillar_verdict,
    run_message,
)
from flows.states import CheckOutcome, CheckRun, Evaluated


def executed(check_id: str, tally: dict[str, int], severity: str = "high", **kw) -> CheckRun:  # type: ignore[no-untyped-def]
    evaluated = Evaluated(b"[]", sum(tally.values()), tally, [], errored=False, **kw)
    return CheckRun(check_id, CheckOutcome.EXECUTED, evaluated=evaluated, name=f"name of {check_id}", severity=severity)


def test_the_logger_names_are_the_contract() -> None:
    assert KWA_LOGGER_NAMES == ("prefect.flow_runs.kwa", "prefect.task_runs.kwa")


def test_counts_are_told_findings_first_with_the_severity() -> None:
    tally = {"passing": 40, "failing": 3, "warning": 1}
    assert counts_text(tally, "critical", objects=44) == "3 failing (critical), 1 warning, 40 passing of 44 objects"
    # Per-container results are not objects: both are said.
    assert counts_text({"failing": 3}, "high", objects=2) == "3 failing (high) (3 results on 2 objects)"
    assert counts_text({"skipped": 1}) == "1 skipped"
    assert counts_text({"error": 2, "timeout": 1}) == "2 errors, 1 timeout"
    assert counts_text({}) == "no objects to evaluate"


def test_a_failing_check_is_completed_but_named_failing_with_counts_and_objects() -> None:
    run = executed(
        "SEC-001",
        {"failing": 3, "warning": 1, "passing": 40},
        severity="critical",
        objects=44,
        examples=["Deployment shop/web (container web)", "Pod a/b", "DaemonSet ops/agent"],
        examples_total=3,
    )
    verdict = check_verdict(run)
    assert (verdict.kind, verdict.name) == ("completed", "Failing")
    assert verdict.message == "3 failing (critical), 1 warning, 40 passing of 44 objects"
    assert verdict.level == logging.WARNING
    assert check_line(run) == (
        "SEC-001 name of SEC-001: 3 failing (critical), 1 warning, 40 passing of 44 objects; "
        "failing: Deployment shop/web (container web), Pod a/b, DaemonSet ops/agent"
    )


def test_a_check_line_says_how_many_more_objects_failed() -> None:
    run = executed("SEC-003", {"failing": 12}, objects=12, examples=["Pod a/p1", "Pod a/p2"], examples_total=12)
    assert check_line(run).endswith("failing: Pod a/p1, Pod a/p2 and 10 more")


def test_warnings_skips_and_clean_checks_have_their_own_names() -> None:
    warning = check_verdict(executed("REL-001", {"warning": 2}, objects=2))
    assert (warning.name, warning.message) == ("Warning", "2 warnings of 2 objects")
    skipped = check_verdict(executed("PERF-009", {"skipped": 1}, skip_reason="requires-live"))
    assert (skipped.name, skipped.message) == ("Skipped", "1 skipped: requires-live")
    clean = check_verdict(executed("SEC-004", {"passing": 2}, objects=2))
    assert (clean.kind, clean.name, clean.message) == ("completed", "Completed", "2 passing of 2 objects")


def test_errors_and_timeouts_keep_failed_states() -> None:
    raised = CheckRun("SEC-903", CheckOutcome.ERRORED, message="ValueError: the check's own bug")
    verdict = check_verdict(raised)
    assert (verdict.kind, verdict.name, verdict.level) == ("failed", "Failed", logging.ERROR)
    assert verdict.message == "could not evaluate: ValueError: the check's own bug"
    forbidden = CheckRun(
        "REL-020",
        CheckOutcome.ERRORED,
        evaluated=Evaluated(b"[]", 1, {"error": 1}, [], True, first_error="pods is forbidden"),
    )
    assert check_verdict(forbidden).message == "could not evaluate: pods is forbidden"
    timed_out = check_verdict(CheckRun("SEC-901", CheckOutcome.TIMED_OUT, message="check did not finish within 1s"))
    assert (timed_out.kind, timed_out.name) == ("failed", "TimedOut")
    assert check_verdict(CheckRun("SEC-1", CheckOutcome.CANCELLED, message="aborted")).kind == "cancelled"


def test_object_labels() -> None:
    assert object_label("Deployment", "shop", "web", "nginx") == "Deployment shop/web (container nginx)"
    assert object_label("ClusterRole", None, "admin") == "ClusterRole admin"


def test_a_pillar_says_which_checks_failed_worst_first() -> None:
    runs = [
        executed("SEC-004", {"failing": 1}, severity="high"),
        executed("SEC-001", {"failing": 2}, severity="critical"),
        executed("SEC-010", {"passing": 3}),
        executed("SEC-017", {"warning": 1}, severity="medium"),
    ]
    verdict = pillar_verdict("security", runs)
    assert (verdict.kind, verdict.name) == ("completed", "Failing")
    assert verdict.message == "2 of 4 checks failing: SEC-001 (critical), SEC-004 (high); 1 with warnings: SEC-017"


def test_a_pillar_names_five_checks_then_counts_the_rest() -> None:
    runs = [executed(f"SEC-{i:03}", {"failing": 1}, severity="medium") for i in range(1, 9)]
    message = pillar_verdict("security", runs).message
    assert message.startswith("8 of 8 checks failing: SEC-001 (medium), SEC-002 (medium)")
    assert message.endswith("SEC-005 (medium) and 3 more")


def test_pillar_states_for_errors_warnings_clean_and_aborted() -> None:
    errored = CheckRun("REL-004", CheckOutcome.ERRORED, message="boom")
    partial = pillar_verdict("reliability", [errored, executed("REL-001", {"passing": 1})])
    assert (partial.kind, partial.name) == ("completed", "Partial")
    assert partial.message == "1 of 2 checks errored: REL-004"
    # Findings first: a pillar with a failing check is Failing, and still names what errored.
    mixed = pillar_verdict("reliability", [errored, executed("REL-002", {"failing": 1}, severity="medium")])
    assert mixed.name == "Failing" and "1 errored: REL-004" in mixed.message
    nothing = pillar_verdict("reliability", [errored, CheckRun("REL-9", CheckOutcome.TIMED_OUT, message="t")])
    assert (nothing.kind, nothing.message) == ("failed", "2 of 2 checks errored or timed out: REL-004, REL-9")
    warned = pillar_verdict("cost", [executed("COST-009", {"warning": 2})])
    assert warned.name == "Warning"
    clean = pillar_verdict("cost", [executed("COST-001", {"passing": 2})])
    assert (clean.kind, clean.name, clean.message) == ("completed", "Completed", "none of 1 check failing")
    aborted = pillar_verdict("cost", [CheckRun("COST-001", CheckOutcome.CANCELLED)])
    assert aborted.kind == "cancelled"


def test_the_run_message_says_outcome_findings_counts_and_score() -> None:
    runs = [
        executed("SEC-001", {"failing": 1, "passing": 1}, severity="critical"),
        executed("SEC-013", {"failing": 1, "passing": 1}, severity="critical"),
        executed("REL-001", {"warning": 2}),
        executed("OPS-001", {"passing": 2}),
    ]
    message = run_message("run_1", "completed", runs, objects=2, score={"score": 79.9, "grade": "C"})
    assert message == (
        "completed: 2 of 4 checks failing: SEC-001 (critical), SEC-013 (critical); "
        "1 with warnings: REL-001; results: 2 failing, 2 warnings, 4 passing on 2 objects; score 79.9 C; kwa run run_1"
    )
    assert run_message("run_1", "completed", []) == "completed; kwa run run_1"


def test_the_run_message_counts_failing_checks_by_severity_when_not_all_are_named() -> None:
    runs = [executed(f"SEC-{i:03}", {"failing": 1}, severity="critical" if i < 3 else "low") for i in range(1, 8)]
    message = run_message("run_1", "partial", runs)
    assert "SEC-005 (low) and 2 more (2 critical, 5 low)" in message
    assert "score" not in run_message("run_1", "partial", runs, score={"score": 50, "incomplete": True})
