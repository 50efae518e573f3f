"""A framework's control-by-control status from one run's per-check outcomes: pure arithmetic.

The rules (docs/frameworks.md#semantics):

- **failed**: some mapped check has a ``failing`` result. A known failure stands even when another
  mapped check could not be evaluated.
- **not-evaluated**: no failure, but some mapped check did not evaluate in this run: not selected,
  not run, errored or timed out (as a whole or for some objects), not applicable here
  (requires-live, requires-metrics, disabled), or it judged nothing because every result was
  skipped as not applicable. It counts against coverage and is never passing.
- **warning**: no failure, every mapped check evaluated, some ``warning`` result.
- **passed**: every mapped check evaluated with no failing or warning result. Exempted results
  (``skipped`` with an ``exempt:`` reason) are a user's waiver, not a verdict: they neither fail
  the control nor stop it passing, and are counted in ``exempted`` so the waiver stays visible.
  A check that ran and found no object to judge passes, as it does in kwa's coverage.
- **not-assessed**: the framework file says kwa cannot assess the control; against coverage,
  never passing.

Score = 100 × 2·passed / (2·passed + 2·failed + warning) over evaluated controls (Polaris' and
kwa's own formula: a warning costs half a failure and earns nothing), truncated to one decimal;
coverage = 100 × evaluated controls / all controls, truncated, never 100 while one is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kwa.frameworks.model import Control, Framework

STATUSES = ("failed", "warning", "not-evaluated", "passed", "not-assessed")
EVALUATED = frozenset({"failed", "warning", "passed"})


@dataclass(frozen=True)
class CheckOutcome:
    """What one check did in a run: rows per stored status, exempted rows (among ``skipped``), and
    why it did not fully evaluate (None: it did)."""

    counts: Mapping[str, int] = field(default_factory=dict)
    exempted: int = 0
    why: str | None = None

    def n(self, status: str) -> int:
        return int(self.counts.get(status, 0) or 0)

    @property
    def judged_nothing(self) -> bool:
        """Only skipped rows, none of them a waiver: the check looked and had nothing it could judge."""
        verdicts = sum(self.n(s) for s in ("passing", "failing", "warning", "error", "timeout"))
        return verdicts == 0 and self.n("skipped") > 0 and self.exempted == 0


@dataclass(frozen=True)
class ControlStatus:
    control: Control
    status: str
    failing: int = 0
    warning: int = 0
    exempted: int = 0
    failing_checks: tuple[str, ...] = ()
    not_evaluated: tuple[tuple[str, str], ...] = ()  # (check id, why)

    def as_dict(self) -> dict[str, Any]:
        c = self.control
        out: dict[str, Any] = {
            "id": c.id,
            "title": c.title,
            "reference": c.reference,
            "status": self.status,
            "checks": list(c.checks),
            "mapping": c.mapping if c.assessed else None,
            "partial": c.partial,
            "failing": self.failing,
            "warning": self.warning,
            "exempted": self.exempted,
            "failing_checks": list(self.failing_checks),
            "not_evaluated": [{"check_id": k, "why": w} for k, w in self.not_evaluated],
        }
        if c.note:
            out["note"] = c.note
        if not c.assessed:
            out["reason"] = c.reason
        return out


@dataclass(frozen=True)
class FrameworkReport:
    framework: Framework
    controls: tuple[ControlStatus, ...]
    counts: Mapping[str, int]
    score: float | None
    coverage: float | None

    def as_dict(self) -> dict[str, Any]:
        f = self.framework
        return {
            "framework": {"name": f.name, "title": f.title, "version": f.version, "source": f.source},
            "score": self.score,
            "coverage": self.coverage,
            "counts": dict(self.counts),
            "controls_total": len(self.controls),
            "controls_evaluated": sum(self.counts.get(s, 0) for s in EVALUATED),
            "controls": [c.as_dict() for c in self.controls],
        }


def _truncated(numerator: float, denominator: float) -> float | None:
    if not denominator:
        return None
    # Integers in, one decimal out, cut rather than rounded: 99.99 is 99.9, never 100.
    return math.floor(1000 * numerator / denominator) / 10


def control_status(control: Control, outcomes: Mapping[str, CheckOutcome]) -> ControlStatus:
    if not control.assessed:
        return ControlStatus(control, "not-assessed")
    failing = warning = exempted = 0
    failing_checks: list[str] = []
    missing: list[tuple[str, str]] = []
    for check_id in control.checks:
        outcome = outcomes.get(check_id)
        if outcome is None:
            missing.append((check_id, "not-in-run"))
            continue
        failing += outcome.n("failing")
        warning += outcome.n("warning")
        exempted += outcome.exempted
        if outcome.n("failing"):
            failing_checks.append(check_id)
        if outcome.why is not None:
            missing.append((check_id, outcome.why))
        elif outcome.judged_nothing:
            missing.append((check_id, "nothing-judged"))
    if failing:
        status = "failed"
    elif missing:
        status = "not-evaluated"
    elif warning:
        status = "warning"
    else:
        status = "passed"
    return ControlStatus(control, status, failing, warning, exempted, tuple(failing_checks), tuple(missing))


def assess(framework: Framework, outcomes: Mapping[str, CheckOutcome]) -> FrameworkReport:
    """Every control's status, the framework score and its coverage (rules: module docstring)."""
    controls = tuple(control_status(c, outcomes) for c in framework.controls)
    counts = dict.fromkeys(STATUSES, 0)
    for c in controls:
        counts[c.status] += 1
    passed, failed, warned = counts["passed"], counts["failed"], counts["warning"]
    score = _truncated(2 * passed, 2 * passed + 2 * failed + warned)
    coverage = _truncated(passed + failed + warned, len(controls))
    return FrameworkReport(framework, controls, counts, score, coverage)
