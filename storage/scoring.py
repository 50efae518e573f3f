"""The scoring rule: a run's tallies in, scores, grades and coverage out; pure arithmetic, no SQL.

Split from storage.scores (which re-exports every public name, and whose docstring states the rule
in full, as docs/scoring.md does). Kept apart from the queries that count the rows so the rule can
be read, tested and changed on its own: :func:`compute` takes :class:`Tally` values however they
were obtained, and :func:`normalise` reads stored history by the current rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.grades import (
    GRADE_BANDS,
    INCOMPLETE_BELOW,
    LOWEST_GRADE,
    RESOURCE_NOT_LISTED,
    verdict,
)

# Bump when the method changes, so stored history stays interpretable. 1: score, grade, coverage
# side by side; 2: coverage is part of the verdict (incomplete scopes, grades capped by coverage).
SCORES_VERSION = 2
SEVERITY_WEIGHTS: dict[str, int] = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
# A severity storage does not know (rows written by a newer kwa) weighs as medium: never 0, which
# would silently drop its failures from the score.
UNKNOWN_SEVERITY_WEIGHT = 3
WARNING_FACTOR = 0.5

NOT_APPLICABLE_REASONS = ("requires-live", "requires-metrics", "disabled")
EXEMPT_PREFIX = "exempt:"

PILLAR_ORDER = ("security", "reliability", "performance", "cost", "operational-excellence", "sustainability")
# Check ids are validated as (SEC|REL|PERF|COST|OPS|SUS)-NNN at registration (checks.registry.ID_PATTERN);
# only needed for checks that left no row, whose pillar the assessments cannot tell.
_PILLAR_OF_PREFIX = {
    "SEC": "security",
    "REL": "reliability",
    "PERF": "performance",
    "COST": "cost",
    "OPS": "operational-excellence",
    "SUS": "sustainability",
}
_RAN_TO_THE_END = ("completed", "partial")  # run states in which every check without rows did execute
_IN_PROGRESS = ("queued", "running")  # scores computed live: a check without rows has not reported yet
STATUS_COLUMNS = ("passing", "failing", "warning", "skipped", "error", "timeout")


@dataclass(frozen=True, slots=True)
class Tally:
    """A run's rows of one check (and one pillar and severity), counted for scoring.

    ``object_unevaluated`` counts the per-object ``error``/``timeout`` rows; ``whole_status`` and
    ``whole_message`` come from a check-level ``error``/``timeout`` row (the check as a whole did
    not evaluate); ``not_applicable`` is the reason of a check-level ``skipped`` row for
    requires-live, requires-metrics or disabled, ``not_applicable_rows`` how many such rows.
    """

    check_id: str
    pillar: str
    severity: str
    passing: int = 0
    failing: int = 0
    warning: int = 0
    skipped: int = 0
    error: int = 0
    timeout: int = 0
    exempted: int = 0
    object_unevaluated: int = 0
    object_sample: str | None = None
    whole_status: str | None = None
    whole_message: str | None = None
    not_applicable: str | None = None
    not_applicable_rows: int = 0
    # The check's name on its rows (None: not known, or not one name); not part of the count.
    check_name: str | None = field(default=None, compare=False)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per stored status (exempted rows are among ``skipped``)."""
        return {s: getattr(self, s) for s in STATUS_COLUMNS}

    @property
    def verdicts(self) -> int:
        """Rows that judged (or should have judged) an object or the check: all but skipped."""
        return self.passing + self.failing + self.warning + self.error + self.timeout


def weight(severity: str | None) -> int:
    return SEVERITY_WEIGHTS.get(str(severity or "").lower(), UNKNOWN_SEVERITY_WEIGHT)


def _method() -> dict[str, Any]:
    return {
        "weights": dict(SEVERITY_WEIGHTS),
        "warning_factor": WARNING_FACTOR,
        "grades": {letter: floor for floor, letter in GRADE_BANDS} | {LOWEST_GRADE: 0},
        "coverage_rule": {"incomplete_below": INCOMPLETE_BELOW, "grade_capped_by_coverage": True},
    }


def normalise(scores: Any) -> Any:
    """Stored scores as the current version reads them.

    Version 1 (score and coverage side by side) gets the version-2 verdict applied to each scope's
    stored score and coverage, ``recomputed_from: 1`` and the current method; the counts, weights
    and ``not_evaluated`` are as stored. Anything else (the current version, a newer one, or
    scores a caller stored in its own shape) is returned unchanged.
    """
    if not isinstance(scores, Mapping) or scores.get("version") != 1:
        return scores
    out = dict(scores)

    def scope(entry: Any) -> Any:
        if not isinstance(entry, Mapping):
            return entry
        return {**entry, **verdict(entry.get("score"), entry.get("coverage"))}

    out["overall"] = scope(scores.get("overall"))
    pillars = scores.get("pillars") if isinstance(scores.get("pillars"), Mapping) else {}
    out["pillars"] = {p: scope(e) for p, e in pillars.items()}
    order = scores.get("pillar_order") or list(out["pillars"])
    out["incomplete_pillars"] = [p for p in order if (out["pillars"].get(p) or {}).get("incomplete")]
    out["method"] = _method()
    out["version"] = SCORES_VERSION
    out["recomputed_from"] = 1
    return out


def pillar_of(check_id: str) -> str | None:
    """The pillar a check id's prefix names (``SEC-001`` → ``security``), or None."""
    return _PILLAR_OF_PREFIX.get(str(check_id).split("-", 1)[0].upper())


def _truncated_percent(numerator: int | float, denominator: int | float) -> float | None:
    """``100 × n / d`` cut (not rounded) to one decimal; exact for integers (no 89.99999 → 89.9)."""
    if denominator <= 0:
        return None
    if isinstance(numerator, int) and isinstance(denominator, int):
        return (numerator * 1000 // denominator) / 10
    return int(numerator * 1000 / denominator + 1e-9) / 10


def _cut3(value: float) -> float:
    """Three decimals, cut (a check missing 1 result in 10,000 shows 0.999, not a complete 1.0)."""
    return int(value * 1000 + 1e-9) / 1000


@dataclass
class _Scope:
    """Running totals for one pillar or the whole run. Weighted sums are kept doubled (integers)."""

    passing2: int = 0  # 2 × Σ w × passing
    total2: int = 0  # 2 × Σ w × (passing + failing + ½ warning)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_COLUMNS, 0))
    exempted: int = 0
    findings: dict[str, dict[str, int]] = field(default_factory=dict)
    applicable: int = 0
    not_applicable: int = 0
    evaluated: float = 0.0
    evaluated_exact: bool = True  # every applicable check fully evaluated (coverage exactly 100)

    def add_rows(self, t: Tally) -> None:
        for status, n in t.counts.items():
            self.counts[status] += n
        self.exempted += t.exempted
        w = weight(t.severity)
        self.passing2 += 2 * w * t.passing
        self.total2 += 2 * w * (t.passing + t.failing) + w * t.warning  # 2 × ½ × w per warning
        if t.failing or t.warning:
            per = self.findings.setdefault(t.severity, {"failing": 0, "warning": 0})
            per["failing"] += t.failing
            per["warning"] += t.warning

    def add_check(self, applicable: bool, evaluated: float) -> None:
        if not applicable:
            self.not_applicable += 1
            return
        self.applicable += 1
        self.evaluated += evaluated
        if evaluated < 1:
            self.evaluated_exact = False

    def result(self) -> dict[str, Any]:
        score = _truncated_percent(self.passing2, self.total2)
        if self.applicable == 0:
            coverage = None
        elif self.evaluated_exact:
            coverage = 100.0
        else:
            # Never 100.0 while something is missing, however small the missing part.
            coverage = min(_truncated_percent(self.evaluated, self.applicable) or 0.0, 99.9)
        return {
            **verdict(score, coverage),
            "coverage": coverage,
            "weighted_passing": self.passing2 / 2,
            "weighted_total": self.total2 / 2,
            "checks_applicable": self.applicable,
            "checks_evaluated": _cut3(self.evaluated),
            "checks_not_applicable": self.not_applicable,
            "counts": dict(self.counts),
            "exempted": self.exempted,
            "findings": {sev: dict(v) for sev, v in sorted(self.findings.items(), key=lambda kv: -weight(kv[0]))},
        }


@dataclass
class _Check:
    """One check's rows over all its tallies (normally exactly one)."""

    pillar: str | None
    severity: str | None = None
    verdicts: int = 0
    other_skipped: int = 0  # skipped rows other than a check-level not-applicable skip
    object_unevaluated: int = 0
    object_sample: str | None = None
    whole: tuple[str, str] | None = None  # (status, message) of a check-level error/timeout row
    not_applicable: str | None = None

    def add(self, t: Tally) -> None:
        self.verdicts += t.verdicts
        self.other_skipped += t.skipped - t.not_applicable_rows
        self.object_unevaluated += t.object_unevaluated
        self.object_sample = self.object_sample or t.object_sample
        if self.whole is None and t.whole_status is not None:
            self.whole = (t.whole_status, t.whole_message or f"check {t.whole_status}")
        self.not_applicable = self.not_applicable or t.not_applicable

    def classify(self) -> tuple[bool, float, str | None, str]:
        """(applicable, evaluated fraction, why it is not fully evaluated or None, message)."""
        if self.whole is not None:
            status, message = self.whole
            why = "resource-not-listed" if message.startswith(RESOURCE_NOT_LISTED) else status
            return True, 0.0, why, message
        if self.not_applicable is not None and self.verdicts == 0 and self.other_skipped == 0:
            return False, 0.0, self.not_applicable, ""
        if self.verdicts and self.object_unevaluated:
            message = f"{self.object_unevaluated} of {self.verdicts} results are error/timeout"
            if self.object_sample:
                message += f", e.g. {self.object_sample}"
            return True, 1 - self.object_unevaluated / self.verdicts, "partial", message
        return True, 1.0, None, ""


def _not_executed(summary: Any) -> dict[str, Mapping[str, Any]]:
    """``runs.summary.checks_not_executed``: what the runner recorded about checks that did not finish."""
    found = summary.get("checks_not_executed") if isinstance(summary, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {str(k): (v if isinstance(v, Mapping) else {}) for k, v in found.items()}


def compute(
    tallies: Iterable[Tally],
    *,
    check_ids: Iterable[str] = (),
    state: str | None = None,
    not_executed: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Scores from a run's tallies (see the module docstring for every rule).

    ``check_ids`` are the checks the run was asked to evaluate: those without rows count as not
    run (coverage 0) unless ``state`` says the run went to the end (``completed``/``partial``) and
    ``not_executed`` (``runs.summary.checks_not_executed``) does not name them.
    """
    overall = _Scope()
    pillars: dict[str, _Scope] = {}
    checks: dict[str, _Check] = {}
    for t in tallies:
        overall.add_rows(t)
        pillars.setdefault(t.pillar, _Scope()).add_rows(t)
        c = checks.get(t.check_id)
        if c is None:
            c = checks[t.check_id] = _Check(t.pillar, t.severity)
        c.add(t)

    not_executed = not_executed or {}
    ran_to_the_end = state in _RAN_TO_THE_END
    missing: dict[str, tuple[str, str]] = {}
    for check_id in dict.fromkeys(str(i) for i in check_ids):
        if check_id in checks:
            continue
        info = not_executed.get(check_id)
        if info is not None:
            outcome = str(info.get("outcome") or "not_run")
            why = {"errored": "error", "timed_out": "timeout"}.get(outcome, "not-run")
            missing[check_id] = (why, str(info.get("message") or outcome.replace("_", " ")))
        elif state in _IN_PROGRESS:
            missing[check_id] = ("pending", f"no results yet: the run is {state}")
        elif not ran_to_the_end:
            missing[check_id] = ("not-run", "no results recorded: the run ended before this check reported")
        else:
            checks[check_id] = _Check(pillar_of(check_id))  # executed, nothing to assess

    not_evaluated: list[dict[str, Any]] = []

    def place(pillar: str | None, applicable: bool, evaluated: float) -> None:
        overall.add_check(applicable, evaluated)
        if pillar is not None:
            pillars.setdefault(pillar, _Scope()).add_check(applicable, evaluated)

    for check_id, c in checks.items():
        applicable, evaluated, why, message = c.classify()
        place(c.pillar, applicable, evaluated)
        if why is not None:
            not_evaluated.append(_entry(check_id, c.pillar, c.severity, why, message, applicable, evaluated))
    for check_id, (why, message) in missing.items():
        pillar = pillar_of(check_id)
        place(pillar, True, 0.0)
        not_evaluated.append(_entry(check_id, pillar, None, why, message, True, 0.0))
    not_evaluated.sort(key=lambda e: e["check_id"])

    order = [p for p in PILLAR_ORDER if p in pillars] + sorted(p for p in pillars if p not in PILLAR_ORDER)
    results = {p: pillars[p].result() for p in order}
    return {
        "version": SCORES_VERSION,
        "method": _method(),
        "overall": overall.result(),
        "pillars": results,
        "pillar_order": order,  # JSONB does not keep key order
        "incomplete_pillars": [p for p in order if results[p]["incomplete"]],
        "not_evaluated": not_evaluated,
    }


def compute_for(run: Mapping[str, Any], tallies: Iterable[Tally]) -> dict[str, Any]:
    """Scores of one run (a ``runs`` row as a dict, its ``summary`` the runner's facts) from its tallies,
    however they were counted: by SQL for a stored run, in memory for ``kwa lint``."""
    return compute(
        tallies,
        check_ids=run.get("check_ids") or (),
        state=run.get("state"),
        not_executed=_not_executed(run.get("summary")),
    )


def _entry(
    check_id: str, pillar: str | None, severity: str | None, why: str, message: str, applicable: bool, evaluated: float
) -> dict[str, Any]:
    return {
        "check_id": check_id,
        "pillar": pillar,
        "severity": severity,
        "why": why,
        "message": message,
        "applicable": applicable,
        "evaluated": _cut3(evaluated),
    }
