"""The grammar of option values shared by every command: durations, dates, comma lists, bounded
whole numbers.

One grammar for durations (``90s``, ``30m``, ``12h``, ``7d``, ``2w`` and combinations such as
``1d12h``), whether the option asks for an age (``--older-than``, ``--grace``) or a point in time
(``--since``, which also takes an ISO 8601 date). Every value is range-checked into a usage error
(exit 2) naming the option: an age further back than :data:`MAX_AGE` (no kwa history is older,
and ``datetime`` cannot go much further), a date that does not exist or overflows when moved to
UTC, a date in the future (nothing could match it: almost always a typo in the year), a number
outside its range (never an OverflowError from the database driver).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from cli.errors import UsageError

MAX_AGE = timedelta(days=36525)  # 100 years
FUTURE_SLACK = timedelta(days=1)  # clocks of the machine that stored a run and this one may disagree
MAX_PAGE = 10_000  # storage.queries.MAX_LIMIT: one page of results or runs
MAX_OFFSET = 1_000_000_000  # deeper than that, --cursor (keyset paging) is the way
MAX_HISTORY = 100_000  # runs in one history: hourly runs for more than eleven years
MAX_DIFF_ROWS = 1_000_000

# Units largest first, each at most once: "1d12h", "2w", "90s", "1h 30m".
_DURATION = re.compile(
    r"\s*(?:(\d+)\s*w)?\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*", re.ASCII
)
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)
DURATION_EXAMPLES = "90s, 30m, 12h, 7d, 2w or 1d12h"
_DATE_EXPECTED = f"ISO 8601 (2026-02-16, 2026-02-16T10:30:00Z) or a duration ({DURATION_EXAMPLES})"


def list_option(flag: str, noun: str, *, metavar: str, help: str) -> Any:
    """A repeatable, comma-separated filter (``--check a,b --check c``). Left out, it means every
    ``noun``; given, it must name one: ``--check ''`` (an unset variable in a script) would
    otherwise select everything without a word."""

    def parse(value: str) -> str:
        if not any(part.strip() for part in value.split(",")):
            raise UsageError(f"{flag} {value[:40]!r} names no {noun}; leave {flag} out to mean every {noun}")
        return value

    return typer.Option(flag, parser=_parser(flag, parse), metavar=metavar, help=help)


def comma_list(values: Iterable[str] | str | None) -> list[str]:
    """``--check a,b --check c`` → ``["a", "b", "c"]``: repeated and comma-separated alike, blanks dropped."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _duration_match(text: str) -> re.Match[str] | None:
    value = text.strip().lower()
    match = _DURATION.fullmatch(value) if len(value) <= 64 else None
    return match if match and any(match.groups()) else None


def parse_duration(text: str, flag: str, hint: str = "") -> timedelta:
    """A duration in the one grammar (see the module docstring); at most 100 years."""
    match = _duration_match(text)
    if match is None:
        raise UsageError(f"{flag} {text[:40]!r}: expected a duration such as {DURATION_EXAMPLES}")
    if any(len(g) > 12 for g in match.groups() if g):  # int() of a huge digit string is slow, and never valid
        raise UsageError(f"{flag} {text[:40]!r}…: the age is far too large (at most 36525d)")
    seconds = sum(int(g or 0) * unit for g, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))
    if seconds > MAX_AGE.total_seconds():
        raise UsageError(f"{flag} {text!r} is more than 100 years: at most 36525d{hint}")
    return timedelta(seconds=seconds)


def parse_since(text: str, flag: str = "--since", now: datetime | None = None) -> datetime:
    """An aware UTC datetime: ``now`` minus a duration, or an ISO 8601 date (naive means UTC)."""
    value = text.strip()
    now = now or datetime.now(UTC)
    if _duration_match(value) is not None:
        return now - parse_duration(value, flag, hint=f" (leave {flag} out to include everything)")
    if len(value) > 64:
        raise UsageError(f"{flag} {text[:40]!r}… is not a date: expected {_DATE_EXPECTED}")
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads dates, times with 'Z', offsets and fractions
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date: expected {_DATE_EXPECTED}") from None
    except OverflowError:  # 0001-01-01T00:00+01:00 and the like: before year 1 in UTC
        raise UsageError(f"{flag} {text!r} is out of range once converted to UTC") from None
    if parsed > now + FUTURE_SLACK:
        raise UsageError(f"{flag} {text!r} is in the future: nothing can match it")
    return parsed


def parse_bounded(text: str, flag: str, low: int, high: int, note: str = "") -> int:
    """A whole number from ``low`` to ``high`` inclusive."""
    expected = f"{flag} takes a whole number from {low:,} to {high:,}{note}"
    value = text.strip()
    if len(value) > 20:  # int() of a huge digit string is slow, and no such value is valid
        raise UsageError(f"{flag} {text[:24]!r}…: {expected}")
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a whole number: {expected}") from None
    if not low <= number <= high:
        raise UsageError(f"{flag} {text!r} is out of range: {expected}")
    return number


# ---- as Typer options: a bad value is Click's usage error (exit 2) naming the option, before any work --


class ValueRejected(typer.BadParameter):
    """A usage error (exit 2) whose message names the option itself: shown as it is."""

    def format_message(self) -> str:
        return self.message


def _parser(flag: str, parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # a default, already a value
        try:
            return parse(value)
        except UsageError as exc:
            raise ValueRejected(str(exc)) from None

    return convert


def duration_option(flag: str, **kwargs: Any) -> Any:
    """An option taking a duration (``--older-than 90d``)."""
    return typer.Option(flag, parser=_parser(flag, lambda v: parse_duration(v, flag)), metavar="DURATION", **kwargs)


def since_option(flag: str = "--since", **kwargs: Any) -> Any:
    """An option taking a point in time: a duration back from now or an ISO 8601 date."""
    return typer.Option(flag, parser=_parser(flag, lambda v: parse_since(v, flag)), metavar="WHEN", **kwargs)


def bounded_option(flag: str, low: int, high: int, note: str = "", **kwargs: Any) -> Any:
    """An option taking a whole number from ``low`` to ``high``."""
    parse = _parser(flag, lambda v: parse_bounded(v, flag, low, high, note))
    return typer.Option(flag, parser=parse, metavar="N", **kwargs)


def choice_option(*flags: str, choices: tuple[str, ...], help: str, **kwargs: Any) -> Any:
    """An option taking one of ``choices`` (listed in its help)."""

    def parse(value: str) -> str:
        if value not in choices:
            raise UsageError(f"{flags[0]} {value!r}: choose from {', '.join(choices)}")
        return value

    return typer.Option(*flags, parser=_parser(flags[0], parse), metavar="|".join(choices), help=help, **kwargs)
