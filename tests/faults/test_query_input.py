"""Query input through the real command line: every out-of-range number, date, age or cursor is a
usage error (exit 2) naming the option — never an OverflowError traceback — and nothing stored
changes. Issue 10: ``--offset 99999999999999999999`` and ``--since 99999999d`` printed tracebacks.
"""

from __future__ import annotations

import base64
import json

import pytest

from storage.db import Database
from tests.cli import builder
from tests.faults.harness import Kwa, assert_no_traceback, sqlite_dump


def _cursor(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


CASES = [
    (("query", "assessments", "list", "--offset", "99999999999999999999"), "--offset '99999999999999999999'"),
    (("query", "assessments", "list", "--offset", "-3"), "--offset '-3' is out of range"),
    (("query", "assessments", "list", "--limit", "1" + "0" * 30), "--limit takes a whole number"),
    (("query", "assessments", "list", "--since", "99999999d"), "--since '99999999d' is more than 100 years"),
    (("query", "assessments", "list", "--since", "99999999999999999999s"), "--since '99999999999999999999s'"),
    (("query", "assessments", "list", "--since", "0001-01-01T00:00:00+14:00"), "out of range once converted to UTC"),
    (("query", "assessments", "list", "--since", "2126-01-01"), "is in the future"),
    (("query", "assessments", "list", "--cursor", _cursor({"v": 1, "f": "0", "k": [[[]]]})), "invalid cursor"),
    (("query", "assessments", "history", "--limit", "-1"), "--limit '-1' is out of range"),
    (("query", "assessments", "history", "--since", "1000000w"), "more than 100 years"),
    (("query", "assessments", "diff", "--max-rows", "99999999999"), "--max-rows '99999999999' is out of range"),
    (("query", "assessments", "summary", "--min-score", "1e400"), "--min-score '1e400'"),
    (("query", "assessments", "summary", "--min-coverage", "nan"), "--min-coverage 'nan'"),
    (("runs", "list", "--limit", "-20"), "--limit '-20' is out of range"),
    (("runs", "list", "--since", "99999999d"), "more than 100 years"),
    (("runs", "prune", "--older-than", "99999999999d"), "--older-than '99999999999d' is more than 100 years"),
    (("runs", "prune", "--older-than", "999999999d"), "is more than 100 years"),  # timedelta's own maximum
    (("runs", "reap", "--grace", "9" * 30 + "h"), "the age is far too large"),
]


@pytest.fixture
def stored(kwa_offline: Kwa, monkeypatch: pytest.MonkeyPatch) -> Kwa:
    db = Database(f"sqlite:///{kwa_offline.db_path}")
    builder.build(db, monkeypatch)
    db.dispose()
    return kwa_offline


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_out_of_range_input_is_a_usage_error(stored: Kwa, argv: tuple[str, ...], message: str) -> None:
    before = sqlite_dump(stored.db_path)
    got = stored(*argv)
    assert_no_traceback(got.out, got.err)
    assert got.code == 2, got.text
    assert message in got.err and "OverflowError" not in got.text
    assert got.out == ""
    assert sqlite_dump(stored.db_path) == before  # nothing stored changed (prune deleted nothing)


def test_the_largest_accepted_values_work(stored: Kwa) -> None:
    before = sqlite_dump(stored.db_path)
    for argv in (
        ("query", "assessments", "list", "--offset", "1000000000", "--limit", "10000", "-o", "json"),
        ("query", "assessments", "list", "--since", "36525d", "--limit", "0", "-o", "csv"),
        ("runs", "list", "--since", "1970-01-01", "--limit", "10000", "-o", "json"),
        ("runs", "prune", "--older-than", "36525d"),
    ):
        got = stored(*argv)
        assert_no_traceback(got.out, got.err)
        assert got.code == 0, got.text
    assert got.out == "removed 0 runs finished more than 100 years ago\n"
    assert sqlite_dump(stored.db_path) == before


def test_bad_input_on_a_fresh_home_creates_nothing(kwa_offline: Kwa) -> None:
    for argv in (
        ("query", "assessments", "list", "--offset", "99999999999999999999"),
        ("runs", "list", "--since", "9d9"),
    ):
        got = kwa_offline(*argv)
        assert_no_traceback(got.out, got.err)
        assert got.code == 2, got.text
    assert not kwa_offline.db_path.exists()
