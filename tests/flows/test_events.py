"""Prefect events of a run's end (flows.events): the payload rules as pure functions, and the events
as the real Prefect server receives them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from flows.events import (
    CHECK_IDS_LISTED,
    FINISHED,
    REGRESSED,
    Comparison,
    finished_payload,
    regressed_payload,
    resources,
)
from tests.flows.conftest import GOOD  # the Deployment the flow tests assess

PRIVILEGED = GOOD.replace('image: "nginx:1.27"}', 'image: "nginx:1.27", securityContext: {privileged: true}}')


def _scores(overall: float | None, **pillars: float) -> dict[str, Any]:
    part = lambda s: {"score": s, "grade": "A" if s and s >= 90 else "F", "coverage": 100.0}  # noqa: E731
    return {
        "overall": part(overall),
        "pillars": {p: part(s) for p, s in pillars.items()},
        "pillar_order": list(pillars),
    }


RUN = {"run_id": "run_b", "cluster_id": "prod", "state": "completed", "trigger": "manual", "error": None}
HISTORY = {"scores": _scores(80.0, security=70.0, reliability=95.0), "total": 10, "passing_count": 7,
           "failing_count": 3, "duration_ms": 1234}  # fmt: skip


def test_finished_payload_without_a_previous_run_has_scores_counts_and_no_comparison() -> None:
    p = finished_payload(RUN, HISTORY, "full", None)
    assert (p["cluster"], p["run_id"], p["state"], p["scope"]) == ("prod", "run_b", "completed", "full")
    assert (p["score"], p["grade"], p["coverage"]) == (80.0, "F", 100.0)
    assert p["pillars"] == {
        "security": {"score": 70.0, "grade": "F", "coverage": 100.0},
        "reliability": {"score": 95.0, "grade": "A", "coverage": 100.0},
    }
    assert p["counts"]["failing"] == 3 and p["counts"]["total"] == 10 and p["counts"]["error"] == 0
    assert p["duration_s"] == 1.234
    assert p["previous_run_id"] is None and p["score_delta"] is None and p["new_critical"] == 0
    assert regressed_payload(p) is None


def test_a_failed_run_without_history_still_has_a_payload() -> None:
    run = {**RUN, "state": "failed", "error": "snapshot unreadable: " + "x" * 2000}
    p = finished_payload(run, None, "check:SEC-001", None)
    assert p["state"] == "failed" and p["score"] is None and p["pillars"] == {}
    assert p["counts"]["total"] == 0 and len(p["error"]) == 500


def test_new_critical_findings_are_counted_and_their_check_ids_bounded() -> None:
    failures = [{"check_id": f"SEC-{i:03d}", "severity": "critical"} for i in range(CHECK_IDS_LISTED + 5)]
    failures += [{"check_id": "SEC-002", "severity": "high"}] * 3 + [{"check_id": "OPS-001", "severity": "low"}]
    previous = {"run_id": "run_a"}
    p = finished_payload(RUN, HISTORY, "full", Comparison(previous, _scores(80.0), failures))
    assert p["new_critical"] == CHECK_IDS_LISTED + 5
    assert p["new_critical_check_ids"] == sorted(f"SEC-{i:03d}" for i in range(CHECK_IDS_LISTED + 5))[:CHECK_IDS_LISTED]
    assert (p["new_high"], p["new_high_check_ids"]) == (3, ["SEC-002"])
    assert p["new_findings"]["total"] == len(failures) and p["new_findings"]["low"] == 1
    assert p["score_delta"] == 0.0 and p["findings_compared"] is True
    r = regressed_payload(p)
    assert r is not None and r["reasons"] == ["new critical or high findings"]
    assert (r["score_before"], r["score_after"], r["previous_run_id"]) == (80.0, 80.0, "run_a")


def test_a_score_drop_alone_is_a_regression_and_a_rise_is_not() -> None:
    dropped = finished_payload(RUN, HISTORY, "full", Comparison({"run_id": "run_a"}, _scores(85.5), []))
    assert dropped["score_delta"] == -5.5
    assert regressed_payload(dropped)["reasons"] == ["score dropped"]  # type: ignore[index]
    rose = finished_payload(RUN, HISTORY, "full", Comparison({"run_id": "run_a"}, _scores(75.0), []))
    assert rose["score_delta"] == 5.0 and regressed_payload(rose) is None
    low_only = Comparison({"run_id": "run_a"}, _scores(80.0), [{"check_id": "OPS-001", "severity": "low"}])
    assert regressed_payload(finished_payload(RUN, HISTORY, "full", low_only)) is None


def test_runs_too_large_to_diff_compare_scores_only() -> None:
    p = finished_payload(RUN, HISTORY, "full", Comparison({"run_id": "run_a"}, _scores(90.0), None))
    assert p["findings_compared"] is False and p["new_findings"] is None and p["new_critical"] == 0
    assert p["score_delta"] == -10.0
    r = regressed_payload(p)
    assert r is not None and r["reasons"] == ["score dropped"] and r["findings_compared"] is False


def test_resources_name_the_cluster_and_relate_the_run_and_flow_run() -> None:
    resource, related = resources(RUN, "0000-1111")
    assert resource["prefect.resource.id"] == "kwa.cluster.prod" and resource["kwa.state"] == "completed"
    assert {r["prefect.resource.id"] for r in related} == {"kwa.run.run_b", "prefect.flow-run.0000-1111"}
    assert len(resources(RUN, None)[1]) == 1


def test_an_error_while_building_or_emitting_is_one_warning_never_a_failure() -> None:
    from flows.events import emit_run_events

    class Broken:
        def read(self) -> Any:
            raise RuntimeError("database went away")

    class Logger:
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def warning(self, message: str, *args: Any) -> None:
            self.warnings.append(message % args)

        def debug(self, *args: Any) -> None:
            raise AssertionError("nothing was emitted")

    logger = Logger()
    assert emit_run_events(Broken(), "run_x", None, logger) == []
    assert logger.warnings == ["could not emit the run's Prefect events: database went away"]


# -- against the real Prefect server ------------------------------------------------------------


def read_events(names: list[str], resource: str, since: float, timeout: float = 60.0, want: int = 1) -> list[Any]:
    """Events named ``names`` about ``resource`` the server stored since ``since`` (epoch s), polled."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    flt = EventFilter(
        occurred=EventOccurredFilter(since=datetime.fromtimestamp(since, UTC) - timedelta(seconds=5)),
        event=EventNameFilter(name=names),
        resource=EventResourceFilter(id=[resource]),
    )

    async def once() -> list[Any]:
        async with get_client() as client:
            response = await client._client.post(
                "/events/filter", json={"filter": flt.model_dump(mode="json"), "limit": 50}
            )
            response.raise_for_status()
            return response.json()["events"]

    deadline = time.monotonic() + timeout
    while True:
        found = asyncio.run(once())
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _assess(path: Path, cluster: str, checks: tuple[str, ...] = ("SEC-001", "SEC-002")) -> dict[str, Any]:
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    state = assessment(source={"kind": "manifests", "paths": [str(path)]}, checks=list(checks),
                       cluster_id=cluster, return_state=True)  # fmt: skip
    summary = summary_of_state(state)
    assert summary is not None, state
    return summary["run"]


def _stored_score(run_id: str) -> float | None:
    from storage.db import Database
    from storage.runs import get_history
    from storage.scores import normalise

    return normalise((get_history(Database(), run_id) or {}).get("scores"))["overall"]["score"]


@pytest.mark.prefect
def test_a_run_emits_finished_and_a_worse_run_emits_regressed(prefect_api: str, tmp_path: Path) -> None:
    from prefect.events.worker import EventsWorker

    cluster = f"events-{time.time_ns()}"
    path = tmp_path / "app.yaml"
    path.write_text(GOOD)
    since = time.time()
    first = _assess(path, cluster)
    path.write_text(PRIVILEGED)
    second = _assess(path, cluster)
    EventsWorker.drain_all(timeout=10)
    found = read_events([FINISHED, REGRESSED], f"kwa.cluster.{cluster}", since, want=3)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for e in found:
        by_name.setdefault(e["event"], []).append(e)
    finished = {e["payload"]["run_id"]: e for e in by_name.get(FINISHED, [])}
    assert set(finished) == {first["run_id"], second["run_id"]}, found
    one, two = finished[first["run_id"]]["payload"], finished[second["run_id"]]["payload"]
    assert one["state"] == "completed" and one["previous_run_id"] is None
    assert (one["score"], two["score"]) == (_stored_score(first["run_id"]), _stored_score(second["run_id"]))
    assert two["previous_run_id"] == first["run_id"]
    assert two["new_critical"] == 1 and two["new_critical_check_ids"] == ["SEC-001"]
    assert two["score"] < one["score"] and two["score_delta"] == round(two["score"] - one["score"], 1)
    related = {r["prefect.resource.id"] for r in finished[second["run_id"]]["related"]}
    assert f"kwa.run.{second['run_id']}" in related
    assert f"prefect.flow-run.{second['prefect_flow_run_id']}" in related
    [regressed] = by_name[REGRESSED]
    r = regressed["payload"]
    assert (r["run_id"], r["score_before"], r["score_after"]) == (second["run_id"], one["score"], two["score"])
    assert set(r["reasons"]) == {"score dropped", "new critical or high findings"}


@pytest.mark.prefect
def test_a_failed_run_and_a_run_of_another_scope_are_announced_but_not_compared(
    prefect_api: str, tmp_path: Path, bad_checks: Any
) -> None:
    from prefect.events.worker import EventsWorker

    cluster = f"events-{time.time_ns()}"
    path = tmp_path / "app.yaml"
    path.write_text(GOOD)
    since = time.time()
    full = _assess(path, cluster)
    other_scope = _assess(path, cluster, ("SEC-001",))
    failed = _assess(path, cluster, ("SEC-903",))  # it raises: every check errored, the run fails
    assert failed["state"] == "failed"
    EventsWorker.drain_all(timeout=10)
    found = read_events([FINISHED, REGRESSED], f"kwa.cluster.{cluster}", since, want=3)
    payloads = {e["payload"]["run_id"]: e["payload"] for e in found if e["event"] == FINISHED}
    assert set(payloads) == {full["run_id"], other_scope["run_id"], failed["run_id"]}
    assert payloads[other_scope["run_id"]]["scope"] == "check:SEC-001"
    assert payloads[other_scope["run_id"]]["previous_run_id"] is None  # no earlier run of that scope
    f = payloads[failed["run_id"]]
    assert (f["state"], f["previous_run_id"], f["new_findings"]) == ("failed", None, None)
    assert f["error"] == failed["error"]
    assert not [e for e in found if e["event"] == REGRESSED]


@pytest.mark.prefect
def test_a_run_cancelled_from_prefect_is_announced_once_by_the_hook_that_ended_it(
    prefect_api: str, manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid
    from types import SimpleNamespace

    from prefect.events.worker import EventsWorker

    from checks.config import Config
    from checks.registry import load_all
    from checks.sources.resolve import SourceSpec
    from flows import steps
    from flows.assessment import _on_cancellation
    from storage.db import Database

    monkeypatch.setenv("KWA_DATABASE_URL", f"sqlite:///{tmp_path / 'kwa.db'}")  # no queued run left behind
    cluster = f"events-{time.time_ns()}"
    spec = SourceSpec("manifests", paths=[str(manifests)])
    job = steps.Job(Database(), spec, Config.load(None), load_all().select(None, ["SEC-001"]))
    steps.admit(job, None, pillars=None, checks=["SEC-001"], cluster_id=cluster, trigger="manual", config_path=None)
    since = time.time()
    flow_run = SimpleNamespace(id=uuid.uuid4(), parameters={"run_id": job.run_id})
    _on_cancellation(None, flow_run, None)
    _on_cancellation(None, flow_run, None)  # the run is aborted already: nothing more to announce
    EventsWorker.drain_all(timeout=10)
    found = read_events([FINISHED], f"kwa.cluster.{cluster}", since, timeout=10, want=2)
    assert len(found) == 1, found
    payload = found[0]["payload"]
    assert (payload["run_id"], payload["state"], payload["error"]) == (job.run_id, "aborted", "cancelled from Prefect")
    assert found[0]["resource"]["kwa.state"] == "aborted"
