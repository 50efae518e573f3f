"""``-o csv|json|yaml`` without ``--limit``: every row, streamed a page at a time, the same bytes
as ``--limit 0``; tables keep a page and say how many more there are."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kwa.app import call as main
from storage.db import Database
from storage.queries import RunQuery, list_run_page
from tests.cli.builder import RUN_2

LISTINGS = [
    ("query", "assessments", "list", "--run", RUN_2),
    ("query", "assessments", "list", "--cluster", "prod-eu", "--since", "2026-02-01"),
    ("query", "assessments", "list", "--run", RUN_2, "--status", "failing", "--offset", "1"),
    ("runs", "list"),
    ("runs", "list", "--cluster", "staging"),
]


@pytest.mark.parametrize("argv", LISTINGS)
@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_without_limit_every_row_streamed_as_limit_0_writes_it(kwa, monkeypatch, argv, fmt) -> None:
    code, whole, err = kwa(*argv, "-o", fmt, "--limit", "0")
    assert code == 0, err
    monkeypatch.setattr("cli.stream.PAGE", 1)  # a page per row: every join between pages is exercised
    code, streamed, err = kwa(*argv, "-o", fmt)
    assert code == 0 and err == ""  # nothing left to hint at on stderr
    assert streamed == whole
    if fmt == "json":
        doc = json.loads(streamed)
        assert doc["pagination"]["next_cursor"] is None and doc["pagination"]["limit"] == 0
        assert len(doc["items"]) > 1 or "--status" in argv


def test_an_explicit_limit_keeps_its_meaning(kwa) -> None:
    code, out, err = kwa("query", "assessments", "list", "--run", RUN_2, "-o", "json", "--limit", "2")
    doc = json.loads(out)
    assert code == 0 and len(doc["items"]) == 2 and doc["pagination"]["next_cursor"]
    code, out, err = kwa("query", "assessments", "list", "--run", RUN_2, "-o", "csv", "--limit", "2")
    assert len(out.splitlines()) == 3 and "more results: repeat with --cursor" in err
    code, out, err = kwa("runs", "list", "-o", "csv", "--limit", "1")
    assert len(out.splitlines()) == 2 and "more runs: repeat with --cursor" in err


def test_tables_keep_a_page_and_say_how_many_more(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN_2, "--limit", "2")
    assert code == 0
    assert "showing 1–2 of 6 · 4 more · next page: --cursor " in out and "· all: --limit 0" in out
    code, out, _ = kwa("runs", "list", "--limit", "1")
    assert "1 run · 3 more · next page: --cursor " in out
    code, out, _ = kwa("runs", "list")  # the default page holds them all: no hint
    assert "4 runs\n" in out and "more" not in out.split("4 runs")[1].split("\n")[0]


def test_the_remaining_count_matches_the_listing(cli_db_url: str) -> None:
    from storage.counts import runs_after

    db = Database(cli_db_url)
    try:
        for q in (RunQuery(), RunQuery(cluster_id="prod-eu"), RunQuery(state=["completed", "failed"]),
                  RunQuery(trigger=["ci"], since=datetime(2026, 2, 11, tzinfo=UTC))):  # fmt: skip
            every = list_run_page(db, RunQuery(**{**q.__dict__, "limit": 0})).items
            for i, run in enumerate(every):
                assert runs_after(db, q, run) == len(every) - i - 1
    finally:
        db.dispose()


def test_streaming_memory_stays_flat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """8,000 results: ``-o json`` without --limit holds one page at a time; ``--limit 0`` all."""
    from storage.results import ResultWriter
    from storage.runs import create_run, finish_run, start_run

    url = f"sqlite:///{tmp_path / 'big.db'}"
    db = Database(url)
    run = create_run(db, scope="full", pillars=[], check_ids=["SEC-001"], cluster_id="big", source="demo",
                     trigger="manual")  # fmt: skip
    start_run(db, run["run_id"])
    meta = {"id": "SEC-001", "pillar": "security", "name": "Privileged", "severity": "critical", "remediation": "r"}
    rows = [
        {"status": "failing", "object_kind": "Pod", "object_namespace": f"ns-{i % 50}", "object_name": f"pod-{i}",
         "container": "app", "message": f"container app of pod-{i} is privileged", "reason": None, "source": "api",
         "details": None, "remediation": None}
        for i in range(8_000)
    ]  # fmt: skip
    with ResultWriter(db, run["run_id"]) as writer:
        writer.add(meta, rows, datetime.now(UTC) - timedelta(seconds=1), 10)
    finish_run(db, run["run_id"], "completed")
    db.dispose()
    monkeypatch.setenv("KWA_DATABASE_URL", url)
    monkeypatch.setattr("cli.stream.PAGE", 500)

    def peak(*argv: str) -> tuple[int, int]:
        out = _CountingStream()
        tracemalloc.start()
        try:
            assert main(["query", "assessments", "list", "-o", "json", *argv], out=out) == 0
            return tracemalloc.get_traced_memory()[1], out.lines
        finally:
            tracemalloc.stop()

    assert main(["query", "assessments", "list", "-o", "json", "--limit", "1"], out=_CountingStream()) == 0  # imports
    streamed, lines = peak()
    whole, whole_lines = peak("--limit", "0")
    assert lines == whole_lines > 8_000  # every result, one per line, and the envelope
    assert streamed < whole / 4, (streamed, whole)


class _CountingStream(io.TextIOBase):
    """Counts lines instead of keeping them (the measurement is of kwa, not of the test's buffer)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def isatty(self) -> bool:
        return False
