"""One grammar for durations and dates, one comma-list helper (kwa/values.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli.errors import UsageError
from kwa.values import comma_list, parse_bounded, parse_duration, parse_since

NOW = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("36525d", timedelta(days=36525)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "--older-than") == expected
    # --since and --older-than read the same grammar
    assert parse_since(text, now=NOW) == NOW - expected


@pytest.mark.parametrize("text", ["", "d", "7", "7x", "12h1d", "1.5h", "-3d", "7d7d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError, match="--older-than"):
        parse_duration(text, "--older-than")


def test_limits() -> None:
    with pytest.raises(UsageError, match="more than 100 years"):
        parse_duration("36526d", "--grace")
    with pytest.raises(UsageError, match="far too large"):
        parse_since("9" * 30 + "s", now=NOW)
    with pytest.raises(UsageError, match="in the future"):
        parse_since("2126-01-01", now=NOW)
    assert parse_since("2026-02-16T10:00Z", now=NOW) == datetime(2026, 2, 16, 10, 0, tzinfo=UTC)
    assert parse_bounded("10", "--limit", 0, 10) == 10
    with pytest.raises(UsageError, match="'11' is out of range"):
        parse_bounded("11", "--limit", 0, 10)


def test_comma_list() -> None:
    assert comma_list(["a,b", " c ", ",,", "d"]) == ["a", "b", "c", "d"]
    assert comma_list("SEC-001, SEC-002") == ["SEC-001", "SEC-002"]
    assert comma_list(None) == []


BLANK_FILTERS = [
    (["run", "--check", ""], "--check"),
    (["run", "--pillar", " , "], "--pillar"),
    (["lint", "--check", ",", "-"], "--check"),
    (["fleet", "--contexts", "a", "--check", ""], "--check"),
    (["checks", "list", "--pillar", ""], "--pillar"),
    (["query", "assessments", "list", "--status", ""], "--status"),
    (["query", "assessments", "list", "--namespace", " "], "--namespace"),
    (["runs", "list", "--trigger", ""], "--trigger"),
]


@pytest.mark.parametrize(("argv", "flag"), BLANK_FILTERS)
def test_a_filter_given_but_blank_is_a_usage_error(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--check "$CHECKS"`` with the variable unset meant every check, silently; now exit 2 naming
    the option, before anything is read or stored."""
    from kwa.app import call

    assert call(argv) == 2
    err = capsys.readouterr().err
    assert f"{flag} " in err and "names no" in err and f"leave {flag} out" in err, err


def test_blank_parts_beside_a_named_one_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    from kwa.app import call

    assert call(["checks", "list", "--pillar", "security,", "-o", "json"]) == 0
    out = capsys.readouterr().out
    assert '"security"' in out and '"cost"' not in out
