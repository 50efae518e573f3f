"""A lint's counts from its rows in memory equal what kwa's database counts with SQL.

``kwa lint`` never opens a database, so its history and scores come from
:func:`storage.row_tally.tallies_from_rows`; ``kwa lint --store`` writes the same rows through
the normal writer. One lint, stored, gives both: the tallies, the gate summary and the scores
computed from memory must equal those the database computes from the stored rows. The lint keeps
passing rows as counts only (flows.lanes.MemoryWriter): counting them apart must give what
counting every row gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "checks" / "fixtures"


def _lint(spec, store: bool):
    from checks.config import Config
    from checks.registry import load_all
    from flows.lint import lint

    selected = load_all().all()
    return lint(
        spec, selected, Config.load(None).ready(), pillars=None, checks=None, cluster_id="tally",
        check_timeout=60.0, run_timeout=None, store=store,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory):
    import os

    from checks.sources.resolve import SourceSpec

    url = f"sqlite:///{tmp_path_factory.mktemp('tally') / 'kwa.db'}"
    saved = os.environ.get("KWA_DATABASE_URL")
    os.environ["KWA_DATABASE_URL"] = url
    try:
        linted = _lint(SourceSpec("manifests", paths=[str(FIXTURES)]), store=True)
    finally:
        if saved is None:
            os.environ.pop("KWA_DATABASE_URL", None)
        else:
            os.environ["KWA_DATABASE_URL"] = saved
    return linted, url


def _key(t) -> tuple:
    return (t.check_id, t.pillar, t.severity)


def test_tallies_from_rows_equal_the_databases(stored) -> None:
    from storage.db import Database
    from storage.row_tally import tallies_from_rows
    from storage.scores import tally
    from storage.scoring import compute_for

    linted, url = stored
    assert linted.stored and linted.rows, "the lint stored no rows"
    with Database(url).read() as conn:
        in_sql = sorted(tally(conn, linted.run["run_id"]), key=_key)
    in_memory = sorted(tallies_from_rows(linted.rows), key=_key)
    assert len(in_sql) >= 100 and in_memory == in_sql
    assert compute_for(linted.run, in_memory) == compute_for(linted.run, in_sql)


def test_passing_rows_counted_apart_give_the_same_tallies_and_gate_summary(stored) -> None:
    from storage.gate_rows import gate_summary
    from storage.row_tally import tallies_from_rows

    linted, _ = stored
    rows = linted.rows
    notable = [r for r in rows if r["status"] != "passing"]
    passing: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["status"] == "passing":
            passing[(r["check_id"], r["pillar"], r["severity"])] = (
                passing.get((r["check_id"], r["pillar"], r["severity"]), 0) + 1
            )
    assert passing and notable, "the fixtures have passing and other rows"
    whole = sorted(tallies_from_rows(rows), key=_key)
    apart = sorted(tallies_from_rows(notable, passing), key=_key)
    assert apart == whole
    assert gate_summary(linted.run, linted.history, notable, passing) == gate_summary(linted.run, linted.history, rows)


def test_the_memory_writer_keeps_passing_rows_as_counts_until_asked() -> None:
    from checks.sources.resolve import SourceSpec

    linted = _lint(SourceSpec("manifests", paths=[str(FIXTURES)]), store=False)
    writer = linted.results
    assert not isinstance(writer, list)
    notable, counts = linted.notable, linted.passing_counts
    assert all(r["status"] != "passing" for r in notable)
    rows = linted.rows  # now every row, in the order the checks ended
    assert sum(counts.values()) == sum(r["status"] == "passing" for r in rows)
    assert [r for r in rows if r["status"] != "passing"] == notable
    assert writer.drain() == len(rows)
