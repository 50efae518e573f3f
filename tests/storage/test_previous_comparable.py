"""storage.diff.previous_comparable: the run a finished run is compared with when it announces its
end (flows.events) — the one ``kwa query assessments diff`` would pair it with."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database
from storage.diff import pick_pair, previous_comparable
from storage.scopes import FULL
from tests.storage.test_history import T0, finished


def test_the_previous_comparable_run_is_the_latest_earlier_finished_run_of_its_cluster_and_scope(db: Database) -> None:
    old = finished(db, "shop", T0, failing=1)
    finished(db, "shop", T0 + timedelta(hours=1), state="failed")  # no results: never compared
    finished(db, "other", T0 + timedelta(hours=2))  # another cluster
    one_check = finished(db, "shop", T0 + timedelta(hours=3), scope="single", checks=["SEC-001"])
    new = finished(db, "shop", T0 + timedelta(hours=4), failing=2)
    later = finished(db, "shop", T0 + timedelta(hours=5))  # after `new`: not "previous" to it

    assert previous_comparable(db, old) is None
    assert previous_comparable(db, new)["run_id"] == old  # type: ignore[index]
    assert previous_comparable(db, later)["run_id"] == new  # type: ignore[index]
    assert previous_comparable(db, one_check) is None  # no earlier check:SEC-001 run
    # What diff pairs by default agrees with it for the latest run.
    a, b, _ = pick_pair(db, "shop", FULL)
    assert b["run_id"] == later and previous_comparable(db, later)["run_id"] == a["run_id"]  # type: ignore[index]
