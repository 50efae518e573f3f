"""CI gates: decide whether a run is good enough to let a pipeline go on (seed 004's policy gate).

Pure functions over the summary dict of :func:`storage.queries.run_summary`, shared by
``kwa query assessments summary`` and ``python -m flows.run`` so both reject a run for the same
reasons with the same words, and exit with :data:`GATE_EXIT`.

Rules
-----
``fail_on`` (``critical|high|medium|low|info``)
    rejects the run when any result is ``failing`` with that severity or a more severe one.
    Only ``failing`` counts: ``warning`` (for example "the PDB is not among the manifests") is
    advice, and ``error``/``timeout`` are the run's own problems, reported by its state.
``min_score`` (``{"overall": 80, "security": 90}``)
    rejects the run when the overall score, or a pillar's score, is below the minimum. A score
    that cannot be checked — no scores recorded for the run, or the pillar not assessed — is a
    violation too: a gate that cannot be evaluated must not let a change through.
Whenever any gate is asked for, a run that ended ``failed`` or ``aborted`` is rejected: it has
no (or not all) results, so "nothing failing" would prove nothing. ``partial`` runs are judged
on the results they have (``flows.run`` already exits 3 for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "GATE_EXIT",
    "SEVERITIES",
    "GateError",
    "Violation",
    "evaluate_gates",
    "format_violations",
    "parse_fail_on",
    "parse_min_score",
]

GATE_EXIT = 6
"""Exit code of a command whose gate rejected the run (distinct from flows.run's 0–5)."""

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
_REJECTED_STATES = ("failed", "aborted")


class GateError(ValueError):
    """A gate option that does not parse (a usage error)."""


@dataclass(frozen=True)
class Violation:
    rule: str  # "fail-on" | "min-score" | "run-state"
    subject: str  # the severity, "overall" or the pillar, or the run id
    message: str
    actual: Any = None
    threshold: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_fail_on(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    v = value.strip().lower()
    if v not in SEVERITIES:
        raise GateError(f"--fail-on {value!r}: expected one of {', '.join(SEVERITIES)}")
    return v


def parse_min_score(values: str | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """``"80"`` → ``{"overall": 80}``; ``"security=90,cost=60"`` → per pillar; repeatable."""
    if values is None:
        return {}
    items = [values] if isinstance(values, str) else list(values)
    out: dict[str, float] = {}
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, number = part.partition("=")
            if not sep:
                name, number = "overall", name
            name = name.strip().lower()
            try:
                score = float(number)
            except ValueError:
                raise GateError(f"--min-score {part!r}: expected N or PILLAR=N with N a number from 0 to 100") from None
            if not 0 <= score <= 100 or not name:
                raise GateError(f"--min-score {part!r}: expected N or PILLAR=N with N a number from 0 to 100")
            out[name] = score
    return out


def _score(entry: Any) -> float | None:
    if isinstance(entry, Mapping):
        entry = entry.get("score")
    if isinstance(entry, bool) or not isinstance(entry, int | float):
        return None
    return float(entry)


def evaluate_gates(
    summary: Mapping[str, Any],
    fail_on: str | None = None,
    min_score: Mapping[str, float] | float | None = None,
) -> list[Violation]:
    """The rules ``summary`` breaks (empty: the run passes). See the module docstring."""
    fail_on = parse_fail_on(fail_on)
    if isinstance(min_score, int | float) and not isinstance(min_score, bool):
        min_score = {"overall": float(min_score)}
    minimums = dict(min_score or {})
    if fail_on is None and not minimums:
        return []
    violations: list[Violation] = []
    run = summary.get("run") or {}
    run_id = str(run.get("run_id", "?"))
    state = summary.get("state") or run.get("state")
    if state in _REJECTED_STATES:
        violations.append(
            Violation(
                "run-state", run_id, f"run {run_id} ended {state}: its results are incomplete", state, "completed"
            )
        )

    if fail_on is not None:
        limit = SEVERITIES.index(fail_on)
        failing = summary.get("failing_by_severity") or {}
        for severity in SEVERITIES[: limit + 1]:
            n = int(failing.get(severity, 0) or 0)
            if n:
                checks = [
                    c["check_id"]
                    for c in summary.get("checks") or []
                    if c.get("severity") == severity and (c.get("counts") or {}).get("failing")
                ]
                shown = ", ".join(checks[:5]) + (f" and {len(checks) - 5} more" if len(checks) > 5 else "")
                violations.append(
                    Violation(
                        "fail-on",
                        severity,
                        f"{n} failing {severity} result{'s' if n != 1 else ''} (--fail-on {fail_on}): {shown}",
                        n,
                        0,
                    )
                )

    scores = summary.get("scores") or {}
    for name, minimum in minimums.items():
        if name == "overall":
            actual = _score(scores.get("overall"))
            what = "overall score"
        else:
            actual = _score((scores.get("pillars") or {}).get(name))
            what = f"{name} score"
        if actual is None:
            reason = "no scores are recorded for this run" if not scores else f"{what} is not available"
            if name != "overall" and scores and name not in (scores.get("pillars") or {}):
                reason = f"pillar {name!r} was not scored in this run"
            violations.append(
                Violation("min-score", name, f"{reason}: cannot check --min-score {_fmt(name, minimum)}", None, minimum)
            )
        elif actual < minimum:
            violations.append(
                Violation("min-score", name, f"{what} {actual:g} is below the minimum {minimum:g}", actual, minimum)
            )
    return violations


def _fmt(name: str, minimum: float) -> str:
    return f"{minimum:g}" if name == "overall" else f"{name}={minimum:g}"


def format_violations(violations: list[Violation], run_id: str | None = None) -> str:
    head = f"gate rejected run {run_id}" if run_id else "gate rejected the run"
    return "\n".join([f"{head}:", *(f"  [{v.rule}] {v.message}" for v in violations)])
