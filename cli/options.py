"""Range-checked numeric options: a value out of range is a usage error (exit 2) naming the option,
before any query runs, never an OverflowError from the database driver."""

from __future__ import annotations

import argparse
from collections.abc import Callable

MAX_PAGE = 10_000  # storage.queries.MAX_LIMIT: one page of results or runs
MAX_OFFSET = 1_000_000_000  # deeper than that, --cursor (keyset paging) is the way
MAX_HISTORY = 100_000  # runs in one history: hourly runs for more than eleven years
MAX_DIFF_ROWS = 1_000_000


def bounded_int(flag: str, low: int, high: int, note: str = "") -> Callable[[str], int]:
    """An argparse ``type`` for an integer from ``low`` to ``high`` inclusive."""
    expected = f"{flag} takes a whole number from {low:,} to {high:,}{note}"

    def parse(text: str) -> int:
        value = text.strip()
        if len(value) > 20:  # int() of a huge digit string is slow, and no such value is valid
            raise argparse.ArgumentTypeError(f"{text[:24]!r}…: {expected}")
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number: {expected}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: {expected}")
        return number

    parse.__name__ = "integer"  # argparse names the type in its own messages
    return parse
