"""The writer's counts of a run's rows equal what ``finish_run``'s GROUP BY counts.

A run's writer counts each check's rows as it takes them (``storage.row_tally.count_values``, in
the lane that ran the check) and ``finish_run`` uses those counts instead of reading every row
back. The history row, the scores and the tallies must be exactly those the database counts:
random rows of every status, check-level and per-object errors with competing messages, exempt
and not-applicable reasons, checks whose rows disagree on pillar or severity.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from storage.background_writer import BackgroundWriter
from storage.db import Database
from storage.result_rows import row_values
from storage.results import ResultWriter
from storage.row_tally import count_values
from storage.runs import finish_run, get_history
from storage.scores import tally
from tests.storage.helpers import new_run

STATUSES = ("passing", "passing", "passing", "failing", "warning", "skipped", "error", "timeout")
REASONS = (None, "exempt:team-a", "exempt:zz", "requires-live", "requires-metrics", "disabled", "no-pods", "Exempt")
MESSAGES = (None, "boom", "Boom", "ärger", "zeta", "alpha", "", "object failed: é")


def _rows(rnd: random.Random, n: int, messages: tuple[str | None, ...] = MESSAGES) -> list[tuple[Any, ...]]:
    out = []
    for i in range(n):
        check_level = rnd.random() < 0.15
        out.append(
            row_values(
                {
                    "status": rnd.choice(STATUSES),
                    "message": rnd.choice(messages),
                    "object_kind": None if check_level else "Pod",
                    "object_namespace": None if check_level else "ns",
                    "object_name": None if check_level else f"p{i}",
                    "reason": rnd.choice(REASONS),
                }
            )
        )
    return out


def _checks(rnd: random.Random) -> list[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    out = []
    for c in range(12):
        check = {"id": f"SEC-{c:03d}", "pillar": "security", "name": f"check {c}", "severity": "high"}
        if c % 5 == 4:  # a check whose rows disagree on pillar or severity
            check = {**check, "pillar": rnd.choice(("security", "cost")), "severity": rnd.choice(("high", "low"))}
        out.append((check, _rows(rnd, rnd.randint(0, 40), MESSAGES if c % 3 == 0 else (None, "same"))))
        if c % 5 == 4:
            out.append(({**check, "severity": "medium"}, _rows(rnd, 5, (None, "same"))))
    return out


def _write(db: Database, checks: list, *, counted: bool = True) -> tuple[str, BackgroundWriter]:
    run_id = new_run(db)
    writer = BackgroundWriter(ResultWriter(db, run_id))
    for check, values in checks:
        if counted:  # as a lane hands them over: JSON rows and their counts
            from storage.result_rows import rows_json

            writer.submit(check, rows_json(values), datetime.now(UTC), 1, len(values), count_values(values))
        else:
            writer.submit(check, values, datetime.now(UTC), 1)
    writer.drain()
    writer.close()
    return run_id, writer


def _history(db: Database, run_id: str) -> dict[str, Any]:
    h = get_history(db, run_id)
    assert h is not None
    return {k: v for k, v in h.items() if k not in ("run_id", "finished_at", "duration_ms")}


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_the_databases(db_url: str, seed: int) -> None:
    db = Database(db_url)
    checks = _checks(random.Random(seed))
    for counted in (True, False):  # from the lanes' counts, or counted by the writer from tuples
        run_id, writer = _write(db, checks, counted=counted)
        mine = writer.tallies()
        with db.read() as conn:
            theirs = tally(conn, run_id)
        if mine is None:  # only where the database might count differently
            assert db.dialect == "postgresql" or any(
                r[0] == "skipped" and r[7] == "Exempt" for _, values in checks for r in values
            )
            continue
        if db.dialect == "sqlite":
            assert mine == theirs  # the same order too: the history's per-pillar counts keep it
        else:
            assert sorted(mine, key=repr) == sorted(theirs, key=repr)


@pytest.mark.parametrize("seed", range(4))
def test_finish_run_with_counts_writes_the_same_history(db_url: str, seed: int) -> None:
    db = Database(db_url)
    rnd = random.Random(seed)
    checks = [(c, [r for r in values if r[7] != "Exempt"]) for c, values in _checks(rnd)]
    counted, writer = _write(db, checks)
    plain, _ = _write(db, checks)
    tallies = writer.tallies()
    if db.dialect == "sqlite":
        assert tallies is not None
    finish_run(db, counted, "completed", tallies=tallies)
    finish_run(db, plain, "completed")
    assert _history(db, counted) == _history(db, plain)


def test_counts_that_do_not_cover_the_run_are_not_used(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    checks = [(c, [r for r in values if r[7] != "Exempt"]) for c, values in _checks(random.Random(1))]
    run_id, writer = _write(db, checks)
    plain, _ = _write(db, checks)
    tallies = writer.tallies()
    assert tallies is not None
    # Rows the counts do not know about (another writer): finish_run counts in the database.
    later = ResultWriter(db, run_id)
    assert later.tallies() is None  # it did not write the run's first rows
    later.add_values(checks[0][0], checks[0][1][:1] or _rows(random.Random(2), 1), datetime.now(UTC), 1)
    later.close()
    plain_writer = ResultWriter(db, plain)
    plain_writer.add_values(checks[0][0], checks[0][1][:1] or _rows(random.Random(2), 1), datetime.now(UTC), 1)
    plain_writer.close()
    finish_run(db, run_id, "completed", tallies=tallies)
    finish_run(db, plain, "completed")
    assert _history(db, run_id) == _history(db, plain)


def test_rows_written_without_counts_leave_counting_to_the_database(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    run_id = new_run(db)
    writer = BackgroundWriter(ResultWriter(db, run_id))
    from storage.result_rows import rows_json

    values = _rows(random.Random(3), 10)
    writer.submit({"id": "SEC-001", "pillar": "security", "name": "n", "severity": "high"}, rows_json(values),
                  datetime.now(UTC), 1, len(values))  # fmt: skip
    writer.drain()
    writer.close()
    assert writer.tallies() is None


def test_an_exempt_reason_in_another_case_is_left_to_sqlite(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    values = [row_values({"status": "skipped", "reason": "EXEMPT:x", "object_kind": "Pod", "object_name": "a"})]
    run_id, writer = _write(db, [({"id": "SEC-001", "pillar": "security", "name": "n", "severity": "high"}, values)])
    assert writer.tallies() is None
    with db.read() as conn:
        assert tally(conn, run_id)[0].exempted == 1  # SQLite's LIKE ignores case; Python's startswith does not
