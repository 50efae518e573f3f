"""Grades and the coverage rule: what one scope (a pillar, or a whole run) shows.

Pure functions over numbers :mod:`storage.scores` computed (or a history row stored), shared by
every output that shows a score — the query tables, the run report, the Prefect artifacts — so
they all say the same thing. docs/scoring.md explains the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

__all__ = [
    "DECIMALS",
    "GRADE_BANDS",
    "INCOMPLETE_BELOW",
    "LOWEST_GRADE",
    "RESOURCE_NOT_LISTED",
    "age_text",
    "compact_score_text",
    "coverage_text",
    "cut",
    "grade",
    "number_text",
    "percent_text",
    "score_text",
    "signed_text",
    "verdict",
]

GRADE_BANDS: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))
LOWEST_GRADE = "F"
_GRADE_ORDER = "ABCDEF"
# Coverage (%) below which a scope has no score and no grade: the band no grade can pass anyway.
INCOMPLETE_BELOW = 50.0
# checks.runner.preflight's message for a check whose resource could not be listed (403, 404);
# restated here because storage never imports checks.
RESOURCE_NOT_LISTED = "cannot evaluate, resource not listed"


def grade(score: float | None) -> str | None:
    """A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, E ≥ 50, else F; ``None`` for no score."""
    if score is None:
        return None
    for floor, letter in GRADE_BANDS:
        if score >= floor:
            return letter
    return LOWEST_GRADE


def _worse(a: str, b: str | None) -> str:
    if b is None:
        return a
    return a if _GRADE_ORDER.find(a) >= _GRADE_ORDER.find(b) else b


def verdict(measured: float | None, coverage: float | None) -> dict[str, Any]:
    """What a scope shows, from its measured score and its coverage (the version-2 rule).

    Below :data:`INCOMPLETE_BELOW` coverage: incomplete, no score, no grade. Otherwise the grade is
    the worse of ``grade(score)`` and ``grade(coverage)``. No coverage (nothing applicable) caps
    nothing; no measured score gives no score.
    """
    incomplete = isinstance(coverage, int | float) and coverage < INCOMPLETE_BELOW
    own = grade(measured) if isinstance(measured, int | float) and not incomplete else None
    if own is None:
        return {
            "score": None,
            "grade": None,
            "incomplete": incomplete,
            "grade_capped": False,
            "uncapped_grade": None,
            "measured_score": measured,
        }
    capped = _worse(own, grade(coverage) if isinstance(coverage, int | float) else None)
    return {
        "score": measured,
        "grade": capped,
        "incomplete": False,
        "grade_capped": capped != own,
        "uncapped_grade": own,
        "measured_score": measured,
    }


# ---- the one display rule -----------------------------------------------------------------------
#
# Every number kwa shows (scores, coverage and other percentages, score deltas, durations) is cut
# toward zero, never rounded: scores and percentages to DECIMALS decimals, shown without a trailing
# ".0". Scores and coverage are stored cut to one decimal already (storage.scores), so what is shown
# is exactly what is stored, and a grade, a gate or a band decided on the stored number always
# agrees with the number beside it: 79.96 shows 79.9 next to its C, never 80 next to a C, and
# 99.96 % coverage never shows as 100 %. docs/scoring.md ("How numbers are shown") says so.

DECIMALS = 1
# Float noise: 0.29 * 100 is 28.999999999999996; a value that has the decimals already keeps them.
_NOISE = 1e-9


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        return None
    if math.isinf(value):
        return None
    return float(value)


def cut(value: float, places: int = DECIMALS) -> float:
    """``value`` cut toward zero to ``places`` decimals: 79.96 → 79.9, -12.15 → -12.1, 80.0 → 80.0."""
    scale = 10**places
    scaled = value * scale
    whole = math.trunc(scaled + _NOISE) if scaled >= 0 else math.trunc(scaled - _NOISE)
    return (whole / scale) if places else float(whole)


def number_text(value: Any, places: int = DECIMALS) -> str:
    """A score or percentage as every output shows it: ``80.4``, ``80``, ``79.9``; ``-`` for none."""
    v = _number(value)
    if v is None:
        return "-"
    text = f"{cut(v, places):.{places}f}"
    if places:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def signed_text(value: Any, places: int = DECIMALS) -> str:
    """A change: ``+3.1``, ``-12.1``, ``0``; ``-`` for none."""
    text = number_text(value, places)
    return text if text in ("-", "0") or text.startswith("-") else f"+{text}"


def percent_text(value: Any, places: int = DECIMALS) -> str:
    """``69 %``, ``99.9 %``, ``100 %``; ``-`` for none."""
    text = number_text(value, places)
    return text if text == "-" else f"{text} %"


# A year is 365.25 days: --older-than 36525d is "100 years", not "100 years 25 days".
_AGE_UNITS = (("year", 31_557_600), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def age_text(age: timedelta | float | int, parts: int = 2) -> str:
    """A span of time as people say it: ``90 days``, ``1 day 12 hours``, ``10 minutes``, ``45 seconds``.

    The largest ``parts`` units, cut (never rounded up: 89 days 23 hours is not "90 days"). Never
    ``90 days, 0:00:00``, which is how Python prints a timedelta.
    """
    total = int(age.total_seconds() if isinstance(age, timedelta) else age)
    if total <= 0:
        return "0 seconds"
    out = []
    for name, size in _AGE_UNITS:
        n, total = divmod(total, size)
        if n:
            out.append(f"{n:,} {name}{'s' if n != 1 else ''}")
        if len(out) == parts or (out and not n):
            break  # "1 day 12 hours", never "1 day 0 hours 5 minutes"
    return " ".join(out)


def coverage_text(value: Any) -> str:
    """``31 %``, ``99.9 %``, ``100 %``; ``-`` when there is none (nothing applicable)."""
    return percent_text(value)


def score_text(entry: Any) -> str:
    """One scope's score as every output shows it.

    ``61.5 (D)``; ``91.4 (D, capped)`` when the coverage held the grade down; ``incomplete`` below
    :data:`INCOMPLETE_BELOW` coverage; ``-`` when there is nothing to score. A bare number (or a
    scope stored without a grade) shows as the number.
    """
    if isinstance(entry, Mapping):
        if entry.get("incomplete"):
            return "incomplete"
        score, letter = _number(entry.get("score")), entry.get("grade")
        capped = bool(entry.get("grade_capped"))
    else:
        score, letter, capped = _number(entry), None, False
    if score is None:
        return "-"
    shown = number_text(score)
    if not letter:
        return shown
    return f"{shown} ({letter}, capped)" if capped else f"{shown} ({letter})"


def compact_score_text(entry: Any) -> str:
    """The run report's cell for one scope: ``80.4 B``, ``91.4 D (capped)``, ``incomplete``, ``-``.

    The same number as :func:`score_text` (one rule), without the parentheses around the grade.
    """
    if not isinstance(entry, Mapping):
        return "-"
    if entry.get("incomplete"):
        return "incomplete"
    score = _number(entry.get("score"))
    if score is None:
        return "-"
    text = f"{number_text(score)} {entry.get('grade') or ''}".strip()
    return f"{text} (capped)" if entry.get("grade_capped") else text
