"""diff_runs reads the two runs check by check and object by object (storage/diff_rows.py); it must
answer exactly what comparing both runs whole answers, on both backends, whatever the names
(NULL and empty parts, case, code points beyond ASCII that collations order differently), and
also when the database returns a check's rows out of the merge's order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage import diff as diff_module
from storage.db import Database
from storage.diff import diff_runs
from storage.diff_rows import COLUMNS
from storage.models import assessments_table as A
from storage.results import ResultWriter
from storage.runs import finish_run
from tests.storage.helpers import check, new_run, row

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
STATUSES = ("failing", "passing", "warning", "error", "skipped", "timeout")
CHECKS = {"SEC-001": "critical", "REL-001": "medium", "OPS-004": "low"}
# Names that sort differently by bytes, by a locale's collation and by case; "" next to NULL.
NAMES = ["app", "App", "app-1", "app_1", "Zeta", "zeta", "émile", "éclair", "日本", "ǅ", "a b", ""]
NAMESPACES = ["default", "Default", "kube-system", "ßtraße", "", None]
KINDS = ["Deployment", "deployment", "Pod", None]
CONTAINERS = ["app", "App", "side", "", None]
RANK = {"failing": 0, "error": 1, "timeout": 2, "warning": 3, "passing": 4, "skipped": 5}


def _random_rows(rng: random.Random, objects: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    out = []
    for _ in range(rng.randint(0, 60)):
        kind, ns, name = rng.choice(objects)
        out.append((rng.choice(sorted(CHECKS)), kind, ns, name, rng.choice(CONTAINERS), rng.choice(STATUSES)))
    return out


def _store(db: Database, at: datetime, rows: list[tuple[Any, ...]]) -> str:
    run_id = new_run(db, cluster_id="shop", requested_at=at)
    with ResultWriter(db, run_id) as writer:
        for check_id, severity in CHECKS.items():
            mine = [
                row(status, i, object_kind=kind, object_namespace=ns, object_name=name, container=container)
                for i, (c, kind, ns, name, container, status) in enumerate(rows)
                if c == check_id
            ]
            if mine:
                writer.add({**check(check_id, "security"), "severity": severity}, mine, at, 5)
    finish_run(db, run_id, "completed", summary={"objects": 3})
    return run_id


def _reference(db: Database, run_a: str, run_b: str) -> dict[str, Any]:
    """The whole-run comparison diff_runs made before it streamed (both runs in dictionaries)."""

    def rows(run_id: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        with db.read() as conn:
            for r in conn.execute(select(*COLUMNS).where(A.c.run_id == run_id).order_by(A.c.id)):
                have = out.get(tuple(r[:5]))
                if have is None or RANK[r[5]] < RANK[have[5]]:
                    out[tuple(r[:5])] = tuple(r)
        return out

    def worst(rows: dict[tuple[Any, ...], tuple[Any, ...]], objects: set[tuple[Any, ...]]) -> dict:
        out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for key, r in rows.items():
            if key[:4] in objects and (key[:4] not in out or RANK[r[5]] < RANK[out[key[:4]][5]]):
                out[key[:4]] = r
        return out

    before, after = rows(run_a), rows(run_b)
    only_a, only_b = before.keys() - after.keys(), after.keys() - before.keys()
    before_obj = worst(before, {k[:4] for k in only_b if k[1] is not None})
    after_obj = worst(after, {k[:4] for k in only_a if k[1] is not None})
    new, fixed, still, changed, gone = [], [], [], [], []
    for key, r in after.items():
        old = before.get(key)
        if r[5] == "failing":
            prior = old if old is not None else before_obj.get(key[:4]) if key[1] is not None else None
            (still if prior is not None and prior[5] == "failing" else new).append((key, prior, r))
        elif old is not None and old[5] == "failing":
            fixed.append((key, old, r))
        elif old is not None and old[5] != r[5]:
            changed.append((key, old, r))
    for key in only_a:
        r = before[key]
        now = after_obj.get(key[:4]) if key[1] is not None else None
        if now is None:
            gone.append((key, r, None))
        elif r[5] == "failing" and now[5] != "failing":
            fixed.append((key, r, now))
        elif r[5] != now[5] and now[5] != "failing":
            changed.append((key, r, now))
    objects_a = {k[1:4] for k in before if k[1] is not None}
    objects_b = {k[1:4] for k in after if k[1] is not None}
    return {
        "new_failures": new,
        "fixed": fixed,
        "still_failing": still,
        "changed": changed,
        "results_disappeared": gone,
        "checks": ({k[0] for k in after} - {k[0] for k in before}, {k[0] for k in before} - {k[0] for k in after}),
        "objects": (objects_b - objects_a, objects_a - objects_b),
    }


def _items(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = ("check_id", "object_kind", "object_namespace", "object_name", "container", "before", "after", "id")
    return sorted((tuple(d[n] for n in names) for d in items), key=repr)


def _expected(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(
        ((*key, old[5] if old else None, new[5] if new else None, (new or old)[10]) for key, old, new in items),
        key=repr,
    )


def _assert_same(db: Database, a: str, b: str) -> dict[str, Any]:
    got, want = diff_runs(db, a, b), _reference(db, a, b)
    for name in ("new_failures", "fixed", "still_failing", "changed", "results_disappeared"):
        assert _items(got[name]) == _expected(want[name]), name
        assert got["counts"][name] == len(want[name]), name
    assert (set(got["checks_appeared"]), set(got["checks_disappeared"])) == want["checks"]
    objs = (
        {(o["kind"], o["namespace"], o["name"]) for o in got[k]} for k in ("objects_appeared", "objects_disappeared")
    )
    assert tuple(objs) == want["objects"]
    return got


@pytest.mark.parametrize("seed", range(8))
def test_the_streamed_diff_is_the_whole_runs_diff(db_url: str, seed: int) -> None:
    rng = random.Random(seed)
    objects = [(rng.choice(KINDS), rng.choice(NAMESPACES), rng.choice(NAMES)) for _ in range(12)]
    objects += [(None, None, None)]  # check-level results
    db = Database(db_url)
    try:
        a = _store(db, T0, _random_rows(rng, objects))
        b = _store(db, T0 + timedelta(hours=1), _random_rows(rng, objects))
        _assert_same(db, a, b)
        _assert_same(db, b, a)
    finally:
        db.dispose()


def test_rows_out_of_the_merges_order_are_compared_whole(tmp_path, monkeypatch) -> None:
    """A database that returned a check's rows in another order (a collation kwa did not expect)
    must cost memory, not correctness: that check is compared from all of its rows."""
    rng = random.Random(7)
    objects = [(rng.choice(KINDS), rng.choice(NAMESPACES), rng.choice(NAMES)) for _ in range(12)]
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    a = _store(db, T0, _random_rows(rng, objects) * 2)
    b = _store(db, T0 + timedelta(hours=1), _random_rows(rng, objects) * 2)
    real = diff_module.check_rows
    whole: list[str] = []

    def shuffled(conn: Any, run_id: str, check_id: str, ordered: bool = True) -> Any:
        rows = list(real(conn, run_id, check_id, ordered))
        if ordered:
            rows.reverse()  # descending: the merge must notice
        else:
            whole.append(check_id)
        return iter(rows)

    monkeypatch.setattr(diff_module, "check_rows", shuffled)
    _assert_same(db, a, b)
    assert whole, "no check fell back to the whole comparison"


def test_a_large_diff_holds_one_object_at_a_time(tmp_path, monkeypatch) -> None:
    """The merge never holds more than one object's rows of each run (the peak memory of a diff
    of two 732,000-result runs fell from 1.5 GB: docs/storage.md)."""
    import storage.diff_rows as rows_module

    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    rows = [("SEC-001", "Deployment", f"ns-{i % 7}", f"app-{i:04d}", c, "failing" if i % 5 else "passing")
            for i in range(600) for c in ("app", "side")]  # fmt: skip
    a = _store(db, T0, rows)
    b = _store(db, T0 + timedelta(hours=1), rows[::-1])
    largest = 0
    real = rows_module.paired_objects

    def watched(rows_a: Any, rows_b: Any) -> Any:
        nonlocal largest
        for ga, gb in real(rows_a, rows_b):
            largest = max(largest, len(ga), len(gb))
            yield ga, gb

    monkeypatch.setattr(diff_module, "paired_objects", watched)
    got = _assert_same(db, a, b)
    assert got["counts"]["still_failing"] > 900
    assert largest == 2  # one object: its two containers
