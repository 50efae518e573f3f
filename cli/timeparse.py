"""Date and age options: ISO 8601 dates and times, or a relative age (``7d``, ``12h``, ``30m``, ``2w``).

Every value is range-checked into a :class:`~cli.errors.UsageError` naming the option: an age
further back than :data:`MAX_AGE` (no kwa history is older, and ``datetime`` cannot go much
further), a date that does not exist or overflows when moved to UTC, or a date in the future
(nothing could match it: almost always a typo in the year).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cli.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$", re.ASCII)
_AGE = re.compile(r"\s*(?:(\d+)w)?\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*", re.ASCII)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE = timedelta(days=36525)  # 100 years
FUTURE_SLACK = timedelta(days=1)  # clocks of the machine that stored a run and this one may disagree
_EXPECTED = "ISO 8601 (2026-02-16, 2026-02-16T10:30:00Z) or a relative age (7d, 12h, 30m, 2w)"


def _age(seconds: int, text: str, flag: str, hint: str = "") -> timedelta:
    if seconds > MAX_AGE.total_seconds():
        raise UsageError(f"{flag} {text!r} is more than 100 years: at most 36525d{hint}")
    return timedelta(seconds=seconds)


def parse_since(text: str, now: datetime | None = None, flag: str = "--since") -> datetime:
    """An aware UTC datetime; naive ISO values are taken as UTC."""
    value = text.strip()
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value.lower())
    if m:
        if len(m.group(1)) > 12:  # int() of a huge digit string is slow, and no such age is valid
            raise UsageError(f"{flag} {text[:40]!r}…: the age is far too large (at most 36525d)")
        age = _age(int(m.group(1)) * _SECONDS[m.group(2)], text, flag, f" (leave {flag} out to include everything)")
        return now - age
    if len(value) > 64:
        raise UsageError(f"{flag} {text[:40]!r}… is not a date: expected {_EXPECTED}")
    try:
        # fromisoformat (3.11) reads dates, times with 'Z', offsets and fractions
        parsed = datetime.fromisoformat(value)
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date: expected {_EXPECTED}") from None
    except OverflowError:  # 0001-01-01T00:00+01:00 and the like: before year 1 in UTC
        raise UsageError(f"{flag} {text!r} is out of range once converted to UTC") from None
    if parsed > now + FUTURE_SLACK:
        raise UsageError(f"{flag} {text!r} is in the future: nothing can match it")
    return parsed


def parse_age(text: str, flag: str = "--older-than") -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s``, ``2w`` or combinations such as ``1d12h``; at most 100 years."""
    value = text.strip().lower()
    match = _AGE.fullmatch(value) if len(value) <= 64 else None
    if not match or not any(match.groups()):
        raise UsageError(f"{flag} {text[:40]!r}: expected an age such as 90d, 12h, 30m or 1d12h")
    if any(len(g) > 12 for g in match.groups() if g):
        raise UsageError(f"{flag} {text[:40]!r}: the age is far too large (at most 36525d)")
    w, d, h, m, s = (int(g or 0) for g in match.groups())
    seconds = (((w * 7 + d) * 24 + h) * 60 + m) * 60 + s
    return _age(seconds, text, flag)
