"""Grades and the coverage rule: what one scope (a pillar, or a whole run) shows.

Pure functions over numbers :mod:`storage.scores` computed (or a history row stored), shared by
every output that shows a score — the query tables, the run report, the Prefect artifacts — so
they all say the same thing. docs/scoring.md explains the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "GRADE_BANDS",
    "INCOMPLETE_BELOW",
    "LOWEST_GRADE",
    "RESOURCE_NOT_LISTED",
    "coverage_text",
    "grade",
    "score_text",
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        return None
    return float(value)


def coverage_text(value: Any) -> str:
    """``31 %``, ``99.9 %``, ``100 %``; ``-`` when there is none (nothing applicable)."""
    v = _number(value)
    return "-" if v is None else f"{v:g} %"


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
    if not letter:
        return f"{score:g}"
    return f"{score:g} ({letter}, capped)" if capped else f"{score:g} ({letter})"
