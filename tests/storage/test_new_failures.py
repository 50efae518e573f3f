"""storage.diff.new_failures finds exactly the new failures diff_runs lists (the run's events
count them), reading only the failing rows."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.diff import diff_runs, new_failures
from storage.results import ResultWriter
from storage.runs import finish_run
from tests.storage.helpers import check, new_run, row

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
STATUSES = ("failing", "passing", "warning", "error", "skipped")
CHECKS = {"SEC-001": "critical", "REL-001": "medium"}
# One result: (check, kind, object, container, status); a kind of None is a cluster-level result.
results = st.lists(
    st.tuples(
        st.sampled_from(sorted(CHECKS)),
        st.sampled_from(["Deployment", None]),
        st.integers(0, 2),
        st.sampled_from(["app", "side", None]),
        st.sampled_from(STATUSES),
    ),
    max_size=14,
)


def _store(db: Database, at: datetime, rows: list[tuple[Any, ...]]) -> str:
    run_id = new_run(db, cluster_id="shop", requested_at=at)
    with ResultWriter(db, run_id) as writer:
        for check_id, severity in CHECKS.items():
            mine = [
                row(
                    status,
                    i,
                    object_kind=kind,
                    object_name=f"app-{i}" if kind else None,
                    object_namespace="default" if kind else None,
                    container=container,
                )
                for c, kind, i, container, status in rows
                if c == check_id
            ]
            if mine:
                pillar = "security" if check_id.startswith("SEC") else "reliability"
                writer.add({**check(check_id, pillar), "severity": severity}, mine, at, 5)
    finish_run(db, run_id, "completed", summary={"objects": 3})
    return run_id


def _keys(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = ("check_id", "object_kind", "object_namespace", "object_name", "container", "severity")
    return sorted(tuple(str(d[n]) for n in names) for d in items)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results, results)
def test_new_failures_are_the_diffs(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'kwa.db'}")
        try:
            a = _store(db, T0, before)
            b = _store(db, T0 + timedelta(hours=1), after)
            assert _keys(new_failures(db, a, b)) == _keys(diff_runs(db, a, b)["new_failures"])
        finally:
            db.dispose()


def test_a_key_failing_under_another_container_before_is_not_new(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    a = _store(db, T0, [("SEC-001", "Deployment", 0, "app", "failing"), ("SEC-001", "Deployment", 1, "app", "passing")])
    b = _store(db, T0 + timedelta(hours=1), [("SEC-001", "Deployment", 0, None, "failing"),
                                             ("SEC-001", "Deployment", 1, None, "failing")])  # fmt: skip
    found = [(d["object_name"], d["severity"]) for d in new_failures(db, a, b)]
    assert found == [("app-1", "critical")]
    assert _keys(new_failures(db, a, b)) == _keys(diff_runs(db, a, b)["new_failures"])
    db.dispose()
