"""``--since`` values: ISO 8601 dates and times, or a relative age (``7d``, ``12h``, ``30m``, ``2w``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cli.errors import UsageError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime; naive ISO values are taken as UTC."""
    value = text.strip()
    m = _RELATIVE.match(value.lower())
    if m:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        # fromisoformat (3.11) reads dates, times with 'Z', offsets and fractions
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date: expected ISO 8601 (2026-02-16, 2026-02-16T10:30:00Z) "
            "or a relative age (7d, 12h, 30m, 2w)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
