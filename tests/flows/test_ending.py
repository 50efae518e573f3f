"""How a run ends, as plain functions: bounded facts, run-level messages, the mirroring Prefect state."""

from __future__ import annotations

import pytest

from checks.snapshot import Snapshot
from flows.artifacts import summary_markdown
from flows.ending import (
    PROBLEMS_KEPT,
    RunEnded,
    final_state,
    problems_line,
    snapshot_error,
    snapshot_facts,
    summary_of_state,
)


class Bounded(list):  # what the parser keeps for a huge input: the first N problems and the total
    total = 500_000


def test_skipped_inputs_are_one_bounded_line() -> None:
    assert problems_line([]) is None
    assert problems_line(["a.yaml#0: not a mapping"]) == "1 input skipped: a.yaml#0: not a mapping"
    many = Bounded(f"junk.yaml#{i}: not a Kubernetes object" for i in range(100))
    line = problems_line(many)
    assert line.startswith("500000 inputs skipped; first 5: junk.yaml#0: not a Kubernetes object; ")
    assert "junk.yaml#5" not in line and len(line) < 400


def test_the_facts_stored_with_a_run_stay_bounded() -> None:
    snapshot = Snapshot(objects=[], mode="manifests", description="junk.yaml")
    snapshot.problems = Bounded(f"junk.yaml#{i}: not a Kubernetes object" for i in range(1000))
    facts = snapshot_facts(snapshot, [], [])
    assert len(facts["problems"]) == PROBLEMS_KEPT
    assert facts["problems_total"] == 500_000


def test_run_level_failures_say_what_happened() -> None:
    from checks.sources.live import ClusterConfigError, ClusterUnreachable

    class EveryListForbidden(ClusterUnreachable):  # what the live source raises when every kind is 403
        pass

    forbidden = EveryListForbidden("every list call was forbidden (403) for user 'ci': no object could be read")
    assert snapshot_error(forbidden, "live", False, 600) == str(forbidden)
    assert snapshot_error(ClusterConfigError("no kubeconfig"), "live", False, 600) == "no kubeconfig"
    assert snapshot_error(OSError("boom"), "manifests", False, 600) == "snapshot unreadable: boom"
    assert (
        snapshot_error(TimeoutError("read timed out"), "live", True, 30)
        == "run-level timeout of 30s exceeded while reading the cluster"
    )


@pytest.mark.parametrize(
    ("state", "prefect"),
    [
        ("completed", ("COMPLETED", "Completed")),
        ("partial", ("COMPLETED", "Partial")),
        ("failed", ("FAILED", "Failed")),
        ("aborted", ("CANCELLED", "Cancelled")),
    ],
)
def test_the_final_prefect_state_mirrors_the_run(state: str, prefect: tuple[str, str]) -> None:
    run = {"run_id": "run_x", "state": state, "error": "why" if state in ("failed", "aborted") else None}
    summary = {"run": run}
    result = final_state(run, summary)
    assert (result.type.value, result.name) == prefect
    assert summary_of_state(result) == summary
    if state in ("failed", "aborted"):
        assert result.message == "why" and isinstance(result.data, RunEnded)


def test_the_state_storage_could_not_take_is_the_one_prefect_gets() -> None:
    run = {"run_id": "run_x", "state": "running", "error": None}
    result = final_state(run, {"run": run}, ("failed", "storage unavailable: database is locked"))
    assert result.is_failed() and result.message == "storage unavailable: database is locked"


def test_run_ended_survives_pickling() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(RunEnded("failed: x", {"run": {"run_id": "r"}})))
    assert str(again) == "failed: x" and again.summary == {"run": {"run_id": "r"}}


def test_markdown_summary_shows_coverage_as_the_percentage_it_is() -> None:
    run = {"run_id": "run_x", "state": "partial", "cluster_id": "c", "source": "s"}
    scores = {"overall": {"score": 71.0, "grade": "C", "coverage": 87.5}, "pillars": {}}
    assert "coverage 87.5 %)" in summary_markdown(run, {}, scores, [])  # the one display rule: never 88
    almost = {"overall": {"score": 89.96, "grade": "B", "coverage": 99.96}, "pillars": {}}
    assert "score: **89.9** (grade B, coverage 99.9 %)" in summary_markdown(run, {}, almost, [])
    full = {"overall": {"score": 90.0, "grade": "A", "coverage": 100.0}, "pillars": {}}
    assert "coverage 100 %)" in summary_markdown(run, {}, full, [])
    none = {"overall": {"score": 90.0, "grade": "A", "coverage": None}, "pillars": {}}
    assert "coverage n/a)" in summary_markdown(run, {}, none, [])


def test_the_facts_keep_what_a_live_read_cost_the_api_server() -> None:
    stats = {"requests": 40, "bytes_read": 16_000_000, "bytes_wire": 2_100_000, "pages": 34, "max_concurrency": 4}
    live = Snapshot(objects=[], mode="live", description="live cluster c", api_stats=stats)
    assert snapshot_facts(live, [], [])["api_server"] == stats
    manifests = Snapshot(objects=[], mode="manifest", description="junk.yaml")
    assert "api_server" not in snapshot_facts(manifests, [], [])
