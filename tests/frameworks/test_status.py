"""Control status, framework score and coverage: the rules of docs/frameworks.md#semantics, on
constructed outcomes (pure) and on a stored run (through storage)."""

from __future__ import annotations

import pytest

from kwa.frameworks import CheckOutcome, Control, Framework, assess, control_status, load
from kwa.frameworks.runs import run_outcomes
from storage.db import Database
from tests.frameworks.conftest import RUN, RUN_OTHER


def ctrl(cid: str, *checks: str) -> Control:
    return Control(cid, f"title {cid}", f"ref {cid}", tuple(checks), "exact", "n" if len(checks) > 1 else None)


def outcome(**counts: int) -> CheckOutcome:
    exempted = counts.pop("exempted", 0)
    return CheckOutcome(counts=counts, exempted=exempted)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ({"A": outcome(passing=3), "B": outcome(passing=1)}, "passed"),
        ({"A": outcome(passing=3, failing=1), "B": outcome(passing=1)}, "failed"),
        ({"A": outcome(passing=3, warning=1), "B": outcome(passing=1)}, "warning"),
        # a known failure stands when the other check could not evaluate
        ({"A": outcome(failing=1), "B": CheckOutcome(why="timeout")}, "failed"),
        ({"A": outcome(passing=1), "B": CheckOutcome(why="error")}, "not-evaluated"),
        (
            {"A": outcome(passing=1), "B": CheckOutcome(counts={"passing": 9, "error": 1}, why="partial")},
            "not-evaluated",
        ),
        ({"A": outcome(passing=1)}, "not-evaluated"),  # B not in the run
        ({"A": outcome(passing=1), "B": CheckOutcome(why="requires-live")}, "not-evaluated"),
        # only skipped-as-not-applicable rows: nothing was judged
        ({"A": outcome(passing=1), "B": outcome(skipped=2)}, "not-evaluated"),
        # exempted rows are a waiver: they neither fail the control nor stop it passing
        ({"A": outcome(passing=1), "B": outcome(skipped=2, exempted=2)}, "passed"),
        # ran and found nothing to judge
        ({"A": outcome(passing=1), "B": outcome()}, "passed"),
        ({"A": outcome(warning=1, failing=1), "B": CheckOutcome(why="not-run")}, "failed"),
    ],
)
def test_control_status(outcomes: dict[str, CheckOutcome], expected: str) -> None:
    assert control_status(ctrl("C", "A", "B"), outcomes).status == expected


def test_unassessed_control_is_not_assessed_whatever_ran() -> None:
    c = Control("C", "t", "r", assessed=False, reason="a flag")
    assert control_status(c, {"A": outcome(failing=1)}).status == "not-assessed"


def test_failing_counts_and_checks_are_reported() -> None:
    s = control_status(ctrl("C", "A", "B"), {"A": outcome(failing=2, warning=1), "B": outcome(failing=1, exempted=3)})
    assert (s.failing, s.warning, s.exempted, s.failing_checks) == (3, 1, 3, ("A", "B"))


def framework(*controls: Control) -> Framework:
    return Framework("demo", "Demo", "1", "https://example.org", tuple(controls))


def test_score_and_coverage_count_unassessed_and_unevaluated_against_coverage_only() -> None:
    fw = framework(
        ctrl("P1", "A"),
        ctrl("P2", "A"),
        ctrl("F", "B"),
        ctrl("W", "C"),
        ctrl("N", "MISSING"),
        Control("X", "t", "r", assessed=False, reason="flag"),
    )
    report = assess(fw, {"A": outcome(passing=1), "B": outcome(failing=1), "C": outcome(warning=1)})
    assert report.counts == {"passed": 2, "failed": 1, "warning": 1, "not-evaluated": 1, "not-assessed": 1}
    # 2·2 / (2·2 + 2·1 + 1) = 4/7 = 57.14… → cut to 57.1; 4 of 6 controls evaluated = 66.6
    assert report.score == 57.1
    assert report.coverage == 66.6
    data = report.as_dict()
    assert data["controls_evaluated"] == 4 and data["controls_total"] == 6


def test_nothing_evaluated_has_no_score_and_zero_coverage() -> None:
    report = assess(framework(ctrl("N", "A"), Control("X", "t", "r", assessed=False, reason="r")), {})
    assert report.score is None
    assert report.coverage == 0.0


def test_all_passing_but_one_unassessed_is_never_full_coverage() -> None:
    controls = [ctrl(f"P{i}", "A") for i in range(999)] + [Control("X", "t", "r", assessed=False, reason="r")]
    report = assess(framework(*controls), {"A": outcome(passing=1)})
    assert report.score == 100.0
    assert report.coverage == 99.9


EXPECTED_NSA = {
    "NSA-POD-1": "failed",  # SEC-003 failing, SEC-004 timed out
    "NSA-POD-2": "not-evaluated",  # SEC-006 errored as a whole
    "NSA-POD-3": "not-evaluated",  # SEC-022 only skipped as not applicable
    "NSA-POD-4": "not-evaluated",  # SEC-031 not in the run
    "NSA-POD-5": "failed",
    "NSA-POD-6": "passed",
    "NSA-POD-7": "not-evaluated",  # SEC-010 timed out on one object
    "NSA-POD-8": "warning",
    "NSA-POD-9": "passed",
    "NSA-POD-10": "passed",  # SEC-014 and SEC-015 ran and found nothing to judge
    "NSA-POD-11": "passed",  # SEC-018's only result is exempted
    "NSA-POD-12": "not-assessed",
    "NSA-NET-4": "not-assessed",
}


def test_statuses_of_a_stored_run(fw_db: Database) -> None:
    run, outcomes = run_outcomes(fw_db, RUN)
    assert run["run_id"] == RUN
    report = assess(load("nsa"), outcomes)
    got = {c.control.id: c.status for c in report.controls}
    for cid, status in EXPECTED_NSA.items():
        assert got[cid] == status, cid
    why = {c.control.id: dict(c.not_evaluated) for c in report.controls}
    assert why["NSA-POD-2"] == {"SEC-006": "error"}
    assert why["NSA-POD-1"] == {"SEC-004": "timeout"}
    assert why["NSA-POD-3"] == {"SEC-022": "nothing-judged"}
    assert why["NSA-POD-4"] == {"SEC-031": "not-in-run"}
    assert why["NSA-POD-7"] == {"SEC-010": "partial"}
    pod11 = next(c for c in report.controls if c.control.id == "NSA-POD-11")
    assert pod11.exempted == 1
    n = report.counts
    assert report.coverage == int(1000 * (n["passed"] + n["failed"] + n["warning"]) / len(report.controls)) / 10


def test_latest_run_of_a_cluster(fw_db: Database) -> None:
    run, outcomes = run_outcomes(fw_db, None, "other")
    assert run["run_id"] == RUN_OTHER
    report = assess(load("nsa"), outcomes)
    assert {c.control.id: c.status for c in report.controls}["NSA-POD-5"] == "passed"
