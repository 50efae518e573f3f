"""CI gates: decide whether a run is good enough to let a pipeline go on.

Pure functions over the summary dict of :func:`storage.queries.run_summary`, shared by
``kwa query assessments summary`` and ``kwa run`` so both reject a run for the same reasons with
the same words (and exit 6: kwa/exit_codes.py).

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
``min_coverage`` (``{"overall": 90, "security": 100}``; default :data:`DEFAULT_MIN_COVERAGE`)
    applies whenever any gate is asked for: "nothing failing" and "score 85" only vouch for a
    cluster if kwa could look at it. The run is rejected when

    * its overall coverage is below ``min_coverage["overall"]``, or undefined (no applicable check
      was evaluated at all);
    * a pillar's coverage is below ``min_coverage[pillar]`` when given, else below the overall
      minimum for a pillar named by ``min_score``, else below the smaller of the overall minimum
      and :data:`storage.grades.INCOMPLETE_BELOW` (no gate lets an incomplete pillar through).

    ``min_coverage["overall"] == 0`` switches the implicit rules off (explicit pillar minimums
    still apply). The message names the coverage and what was not evaluated, and why.
    :func:`parse_min_coverage` resolves the policy: the default, then ``$KWA_MIN_COVERAGE``, then
    the command line.
Whenever any gate is asked for, a run that ended ``failed`` or ``aborted`` is rejected: it has
no (or not all) results, so "nothing failing" would prove nothing. ``partial`` runs are judged
on the results they have and their coverage (``flows.run`` already exits 3 for them). A run that
assessed nothing (:mod:`storage.assessed`) is not judged here: the callers exit 9 for it.

With a baseline
---------------
When the caller passes ``new_failing`` (the failing results a baseline does not accept:
``kwa.baseline``), ``fail_on`` counts only those: a finding the baseline knows never fails the
gate, however severe. ``min_score`` and ``min_coverage`` still judge the whole run: a score says
how good the configuration is, known debt included, and a baseline must not make a run look
better than it is. The violation says how many known results were left out.

What a ``fail-on`` violation lists
----------------------------------
The failing results it counts, most severe first (then check id, then object): kind/namespace/
name, container, check id and severity, the first :data:`OBJECTS_SHOWN` of them and how many more
(:func:`gate_findings` reads them; :func:`evaluate_gates` itself stays a pure function of what it
is given). The same list travels in ``Violation.objects`` to every machine output that carries
the gate (``-o json|yaml``).

Parsing the options (:func:`parse_fail_on`, :func:`parse_min_score`, :func:`parse_min_coverage`,
:class:`GateError`, the severities and coverage defaults) lives in :mod:`storage.gate_options` and
is re-exported here; this module evaluates a run against them and words the violations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from redaction.controls import terminal_safe
from storage.gate_options import (
    DEFAULT_MIN_COVERAGE,
    MIN_COVERAGE_ENV,
    SEVERITIES,
    GateError,
    parse_fail_on,
    parse_min_coverage,
    parse_min_score,
)
from storage.grades import INCOMPLETE_BELOW, RESOURCE_NOT_LISTED, coverage_text

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "MIN_COVERAGE_ENV",
    "OBJECTS_SHOWN",
    "SEVERITIES",
    "GateError",
    "Violation",
    "evaluate_gates",
    "format_violations",
    "gate_findings",
    "parse_fail_on",
    "parse_min_coverage",
    "parse_min_score",
]

OBJECTS_SHOWN = 10
"""Failing objects a fail-on violation lists (the rest are counted: "… and 12 more")."""

_REJECTED_STATES = ("failed", "aborted")
# Order in which reasons are listed, with the words used for them.
_WHY = {
    "resource-not-listed": "resource not listed",
    "error": "error",
    "timeout": "timeout",
    "not-run": "not run",
    "pending": "not reported yet",
    "partial": "some objects not evaluated",
}
_RESOURCE_PREFIX = RESOURCE_NOT_LISTED + ":"


@dataclass(frozen=True)
class Violation:
    rule: str  # "fail-on" | "min-score" | "run-state"
    subject: str  # the severity, "overall" or the pillar, or the run id
    message: str
    actual: Any = None
    threshold: Any = None
    # fail-on: the first failing results it counts (check_id, severity, object_kind,
    # object_namespace, object_name, container), and how many more there are.
    objects: tuple[Mapping[str, Any], ...] = ()
    more: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["objects"] = [dict(o) for o in self.objects]
        return out

    def lines(self) -> list[str]:
        """One line per listed object, then the count of the rest (what a terminal shows under it)."""
        out = [finding_line(o) for o in self.objects]
        if self.more:
            out.append(f"… and {self.more:,} more")
        return out


def finding_line(o: Mapping[str, Any]) -> str:
    """``critical  SEC-001  Deployment/shop/web (container app)``."""
    ref = "/".join(str(v) for v in (o.get("object_kind"), o.get("object_namespace"), o.get("object_name")) if v)
    container = f" (container {o['container']})" if o.get("container") else ""
    return f"{o.get('severity', '?'):<8}  {o.get('check_id', '?')}  {ref or '(the cluster)'}{container}"


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
    min_coverage: Mapping[str, float] | float | None = None,
    findings: Sequence[Mapping[str, Any]] | None = None,
    new_failing: Sequence[Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """The rules ``summary`` breaks (empty: the run passes). See the module docstring.

    The gate is active when any of the three is given; ``min_coverage`` then defaults to
    ``{"overall": DEFAULT_MIN_COVERAGE}`` (callers resolve the variable with :func:`parse_min_coverage`).
    ``findings``: failing results as :func:`gate_findings` reads them (most severe first); each
    fail-on violation lists the first :data:`OBJECTS_SHOWN` of its severity.
    ``new_failing``: with a baseline, the failing result rows it does not accept; ``fail_on``
    then counts only these (``findings`` is not needed: they are listed from these rows).
    """
    fail_on = parse_fail_on(fail_on)
    minimums = _as_policy(min_score)
    if fail_on is None and not minimums and min_coverage is None:
        return []
    coverage_policy = _as_policy(min_coverage) if min_coverage is not None else {}
    coverage_policy.setdefault("overall", DEFAULT_MIN_COVERAGE)
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
    scores = summary.get("scores") or {}
    violations += _coverage_violations(scores, coverage_policy, minimums)

    if fail_on is not None and new_failing is not None:
        violations += _new_fail_on(summary, fail_on, new_failing)
    elif fail_on is not None:
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
                listed = tuple(f for f in findings or () if f.get("severity") == severity)[:OBJECTS_SHOWN]
                violations.append(
                    Violation(
                        "fail-on",
                        severity,
                        f"{n} failing {severity} result{'s' if n != 1 else ''} (--fail-on {fail_on}): {_some(checks)}",
                        n,
                        0,
                        objects=listed,
                        more=max(n - len(listed), 0) if listed else 0,
                    )
                )

    pillars = scores.get("pillars") or {}
    for name, minimum in minimums.items():
        entry = scores.get("overall") if name == "overall" else pillars.get(name)
        what = "overall score" if name == "overall" else f"{name} score"
        actual = _score(entry)
        if actual is None:
            if not scores:
                reason = "no scores are recorded for this run"
            elif name != "overall" and name not in pillars:
                reason = f"pillar {name!r} was not scored in this run"
            elif isinstance(entry, Mapping) and entry.get("incomplete"):
                scope = "the run" if name == "overall" else name
                reason = f"{scope} is incomplete (coverage {coverage_text(entry.get('coverage'))}): it has no score"
            else:
                reason = f"{what} is not available"
            violations.append(
                Violation("min-score", name, f"{reason}: cannot check --min-score {_fmt(name, minimum)}", None, minimum)
            )
        elif actual < minimum:
            violations.append(
                Violation("min-score", name, f"{what} {actual:g} is below the minimum {minimum:g}", actual, minimum)
            )
    return violations


_FINDING_COLUMNS = ("check_id", "severity", "object_kind", "object_namespace", "object_name", "container")


def _new_fail_on(summary: Mapping[str, Any], fail_on: str, new_failing: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """The fail-on rule over the results a baseline does not accept (module docstring: With a baseline)."""
    failing = summary.get("failing_by_severity") or {}
    out: list[Violation] = []
    for severity in SEVERITIES[: SEVERITIES.index(fail_on) + 1]:
        rows = sorted(
            (r for r in new_failing if r.get("severity") == severity),
            key=lambda r: tuple(str(r.get(k) or "") for k in _FINDING_COLUMNS),
        )
        if not rows:
            continue
        n = len(rows)
        known = max(int(failing.get(severity, 0) or 0) - n, 0)
        checks = list(dict.fromkeys(str(r.get("check_id")) for r in rows))
        listed = tuple({k: r.get(k) for k in _FINDING_COLUMNS} for r in rows[:OBJECTS_SHOWN])
        message = (
            f"{n} new failing {severity} result{'s' if n != 1 else ''} not in the baseline "
            f"(--fail-on {fail_on}; {known} known left out): {_some(checks)}"
        )
        out.append(Violation("fail-on", severity, message, n, 0, objects=listed, more=n - len(listed)))
    return out


def _as_policy(value: Mapping[str, float] | float | None) -> dict[str, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"overall": float(value)}
    return dict(value or {})


def _coverage(entry: Any) -> float | None:
    value = entry.get("coverage") if isinstance(entry, Mapping) else None
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)


def _coverage_violations(
    scores: Mapping[str, Any], policy: Mapping[str, float], min_score: Mapping[str, float]
) -> list[Violation]:
    """The coverage rules of the module docstring, each with what was not evaluated."""
    overall_min = policy["overall"]
    if not scores:
        if overall_min <= 0:
            return []
        msg = f"no scores are recorded for this run: cannot check --min-coverage {overall_min:g}"
        return [Violation("coverage", "overall", msg, None, overall_min)]
    out: list[Violation] = []
    if overall_min > 0:
        actual = _coverage(scores.get("overall"))
        if actual is None:
            msg = "no applicable check was evaluated (coverage undefined): nothing to vouch for"
            out.append(Violation("coverage", "overall", msg, None, overall_min))
        elif actual < overall_min:
            msg = f"coverage {coverage_text(actual)} is below the minimum {overall_min:g} % (--min-coverage)"
            out.append(Violation("coverage", "overall", f"{msg}: {_not_evaluated(scores)}", actual, overall_min))
    pillars = scores.get("pillars") or {}
    names = list(pillars) + [p for p in policy if p != "overall" and p not in pillars]
    for name in names:
        if name in policy:
            floor, why = policy[name], f"the minimum {policy[name]:g} % for {name} (--min-coverage {name}=…)"
        elif overall_min <= 0:
            continue
        elif name in min_score:
            floor, why = overall_min, f"the minimum {overall_min:g} % (--min-coverage), needed for --min-score {name}"
        else:
            floor = min(overall_min, INCOMPLETE_BELOW)
            why = f"{floor:g} %: the pillar is incomplete and has no score"
        if name not in pillars:
            msg = f"pillar {name!r} was not assessed in this run: cannot check its coverage"
            out.append(Violation("coverage", name, msg, None, floor))
            continue
        actual = _coverage(pillars[name])
        if actual is None:
            if name in policy:
                msg = f"{name}: no applicable check was evaluated (coverage undefined)"
                out.append(Violation("coverage", name, msg, None, floor))
        elif actual < floor:
            msg = f"{name} coverage {coverage_text(actual)} is below {why}: {_not_evaluated(scores, name)}"
            out.append(Violation("coverage", name, msg, actual, floor))
    return out


def _not_evaluated(scores: Mapping[str, Any], pillar: str | None = None) -> str:
    """``12 of 40 applicable checks not fully evaluated: resource not listed (Deployment: forbidden
    (403)): SEC-001, SEC-002 …; error: OPS-001``."""
    scope = scores.get("overall") if pillar is None else (scores.get("pillars") or {}).get(pillar)
    entries = [
        e
        for e in scores.get("not_evaluated") or []
        if isinstance(e, Mapping) and e.get("applicable", True) and (pillar is None or e.get("pillar") == pillar)
    ]
    applicable = scope.get("checks_applicable") if isinstance(scope, Mapping) else None
    if isinstance(applicable, int) and not isinstance(applicable, bool):
        head = f"{len(entries)} of {applicable} applicable check{'s' if applicable != 1 else ''} not fully evaluated"
    else:
        head = f"{len(entries)} applicable check{'s' if len(entries) != 1 else ''} not fully evaluated"
    if not entries:
        return head
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        groups.setdefault(str(e.get("why") or "error"), []).append(e)
    parts = []
    for why in sorted(groups, key=lambda w: (list(_WHY).index(w) if w in _WHY else len(_WHY), w)):
        members = groups[why]
        label = _WHY.get(why, why)
        if why == "resource-not-listed":
            resources = list(
                dict.fromkeys(
                    str(e.get("message") or "").removeprefix(_RESOURCE_PREFIX).strip()
                    for e in members
                    if str(e.get("message") or "").startswith(_RESOURCE_PREFIX)
                )
            )
            if resources:
                label += f" ({_some(resources, 3, '; ')})"
        parts.append(f"{label}: {_some([str(e.get('check_id')) for e in members])}")
    return f"{head}: {'; '.join(parts)}"


def _some(items: Sequence[str], n: int = 5, sep: str = ", ") -> str:
    shown = sep.join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def _fmt(name: str, minimum: float) -> str:
    return f"{minimum:g}" if name == "overall" else f"{name}={minimum:g}"


def format_violations(violations: list[Violation], run_id: str | None = None) -> str:
    """What stderr says of a rejected run, the failing objects' names from the input escaped
    (:func:`redaction.controls.terminal_safe`): every caller prints it to a terminal or a log."""
    head = f"gate rejected run {run_id}" if run_id else "gate rejected the run"
    out = [f"{head}:"]
    for v in violations:
        out.append(f"  [{v.rule}] {v.message}")
        out += [f"      {text}" for text in v.lines()]
    return terminal_safe("\n".join(out))


def gate_findings(db: Any, run_id: str, fail_on: str | None, per_severity: int = OBJECTS_SHOWN) -> list[dict[str, Any]]:
    """The failing results a ``--fail-on`` gate counts, the first ``per_severity`` of each severity
    at or above ``fail_on``, most severe first, then by check id and object.

    One bounded query per severity (index ``assessments (run_id, status)``): a run with 100,000
    failing results costs what one with ten does.
    """
    if fail_on is None:
        return []
    from sqlalchemy import func, select

    from storage.models import assessments_table as A

    # coalesce: NULL sorts first on SQLite and last on PostgreSQL; the list must not depend on it
    order = [func.coalesce(c, "") for c in (A.c.object_kind, A.c.object_namespace, A.c.object_name, A.c.container)]
    columns = (A.c.check_id, A.c.severity, A.c.object_kind, A.c.object_namespace, A.c.object_name, A.c.container)
    out: list[dict[str, Any]] = []
    from storage.archive import ensure_hot

    with db.read() as conn:
        ensure_hot(conn, run_id)
        for severity in SEVERITIES[: SEVERITIES.index(fail_on) + 1]:
            query = (
                select(*columns)
                .where(A.c.run_id == run_id, A.c.status == "failing", A.c.severity == severity)
                .order_by(A.c.check_id, *order)
                .limit(per_severity)
            )
            out += [dict(row._mapping) for row in conn.execute(query)]
    return out
