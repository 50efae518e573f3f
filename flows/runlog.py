"""What kwa tells the Prefect UI about a run: its log lines and the states of checks and pillars.

The Prefect UI is where a scheduled run is looked at, so it must say what the run found, not only
whether the Python code finished. Three things are built here, as plain text from a run's
outcomes (no Prefect import at module level; the worker processes use :func:`object_label`):

- a **verdict** for each check task and pillar subflow: the name of its final Prefect state
  ("Failing", "Warning", "Skipped", "Partial", …) and a message with the counts and the worst
  severity ("3 failing (critical), 1 warning, 40 passing of 44 objects"), so the run page's task
  and subflow lists show which checks and pillars found problems without opening anything;
- the **run's message** (outcome, failing checks by severity, result counts, score);
- kwa's own **log lines** (a check's counts and first failing objects, each pillar's and the run's
  summary), written through the loggers named in :data:`KWA_LOGGER_NAMES`, children of Prefect's
  run loggers, so they reach the flow run's logs with its ids attached and ``kwa runs logs`` can
  tell them from Prefect's own per-task lines.

Never a Secret's value or a credential: lines name objects (kind, namespace, name) and counts,
never a field's value or a check's free-text message about one; the process-wide redaction layer
(``redaction``) filters every log record besides.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.states import CheckOutcome, CheckRun
from redaction.controls import one_line

# The loggers kwa's own lines go through (flow-level lines, check-task lines): `kwa runs logs`
# filters on exactly these names.
KWA_LOGGER_NAMES = ("prefect.flow_runs.kwa", "prefect.task_runs.kwa")
EXAMPLES = 5  # objects named per check in its log line
CHECKS_NAMED = 5  # checks named per pillar (and per run) in a state message
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
# The order counts are told in: what needs acting on first.
_COUNTED = ("failing", "warning", "passing", "skipped", "error", "timeout")
_NOUNS = {"warning": ("warning", "warnings"), "error": ("error", "errors"), "timeout": ("timeout", "timeouts")}

# Names of the final states (the Prefect type is in Verdict.kind).
FAILING, WARNING, SKIPPED, PARTIAL, COMPLETED = "Failing", "Warning", "Skipped", "Partial", "Completed"


@dataclass(frozen=True)
class Verdict:
    """A check's or a pillar's final Prefect state (kind and name), its message and log level."""

    kind: str  # "completed", "failed" or "cancelled": the Prefect state type
    name: str
    message: str
    level: int = logging.INFO


def object_label(kind: str | None, namespace: str | None, name: str | None, container: str | None = None) -> str:
    """``Deployment shop/web`` (``ClusterRole admin`` when cluster-scoped), and its container, on
    one line with control and bidirectional characters escaped: the names come from the input,
    and the label goes into log lines and Prefect state messages that people read."""
    where = f"{namespace}/{name}" if namespace else str(name)
    label = f"{kind} {where}" if kind else where
    return one_line(f"{label} (container {container})" if container else label)


def _rank(severity: str | None) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def counts_text(tally: Mapping[str, int], severity: str | None = None, objects: int = 0) -> str:
    """``3 failing (critical), 1 warning, 40 passing of 44 objects``."""
    parts = []
    for status in _COUNTED:
        n = int(tally.get(status, 0) or 0)
        if not n:
            continue
        one, many = _NOUNS.get(status, (status, status))
        text = f"{n} {one if n == 1 else many}"
        if status == "failing" and severity:
            text += f" ({severity})"
        parts.append(text)
    total = sum(int(v or 0) for v in tally.values())
    if not parts:
        return "no objects to evaluate"
    text = ", ".join(parts)
    if objects and objects == total:
        return f"{text} of {objects} object{'s' if objects != 1 else ''}"
    if objects:  # per-container results, or rows about the check itself
        return f"{text} ({total} results on {objects} object{'s' if objects != 1 else ''})"
    return text


def check_verdict(run: CheckRun) -> Verdict:
    """The check task's final state: Completed named Failing / Warning / Skipped (or plain
    Completed), Failed (it errored, or was stopped by its timeout: "TimedOut"), Cancelled."""
    if run.outcome is CheckOutcome.TIMED_OUT:
        return Verdict("failed", "TimedOut", run.message or "timed out", logging.ERROR)
    if run.outcome in (CheckOutcome.CANCELLED, CheckOutcome.NOT_RUN):
        return Verdict("cancelled", "Cancelled", run.message or "the run ended before this check finished")
    tally = run.counts()
    evaluated = run.evaluated
    objects = evaluated.objects if evaluated is not None else 0
    text = counts_text(tally, run.severity, objects)
    if run.outcome is CheckOutcome.ERRORED:
        why = run.message or (evaluated.first_error if evaluated is not None else None) or "could not evaluate"
        return Verdict("failed", "Failed", f"could not evaluate: {why}", logging.ERROR)
    if tally.get("failing"):
        return Verdict("completed", FAILING, text, logging.WARNING)
    if tally.get("warning"):
        return Verdict("completed", WARNING, text)
    if tally.get("skipped") and not tally.get("passing") and not tally.get("error"):
        reason = evaluated.skip_reason if evaluated is not None else None
        return Verdict("completed", SKIPPED, f"{text}: {reason}" if reason else text)
    return Verdict("completed", COMPLETED, text)


def check_line(run: CheckRun) -> str:
    """The check's one log line: id, name, counts, worst severity, the first failing objects."""
    line = f"{run.check_id} {run.name}".strip() + f": {check_verdict(run).message}"
    evaluated = run.evaluated
    if evaluated is not None and evaluated.examples:
        status = "failing" if run.counts().get("failing") else "warning"
        more = evaluated.examples_total - len(evaluated.examples)
        line += f"; {status}: " + ", ".join(evaluated.examples) + (f" and {more} more" if more > 0 else "")
    return line


def _named(runs: Iterable[CheckRun], limit: int = CHECKS_NAMED, with_severity: bool = True) -> str:
    """``SEC-001 (critical), SEC-004 (high)`` worst first, then ``… and N more``."""
    ordered = sorted(runs, key=lambda r: (_rank(r.severity), r.check_id))
    shown = [f"{r.check_id} ({r.severity})" if with_severity and r.severity else r.check_id for r in ordered[:limit]]
    more = len(ordered) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _by_severity(runs: Iterable[CheckRun]) -> str:
    """``1 critical, 2 high``."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.severity or "unknown"] = counts.get(r.severity or "unknown", 0) + 1
    return ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=_rank))


def findings_text(runs: list[CheckRun], by_severity: bool = False) -> str:
    """``2 of 17 checks failing: SEC-001 (critical), SEC-004 (high); 1 errored: REL-004; 3 with
    warnings: …``; ``by_severity``: also count the failing checks per severity when not every one
    is named (``… and 5 more (2 critical, 3 high, 5 medium)``)."""
    total = len(runs)
    failing = [r for r in runs if r.outcome is CheckOutcome.EXECUTED and r.counts().get("failing")]
    warning = [r for r in runs if r.outcome is CheckOutcome.EXECUTED and not r.counts().get("failing")
               and r.counts().get("warning")]  # fmt: skip
    errored = [r for r in runs if r.outcome in (CheckOutcome.ERRORED, CheckOutcome.TIMED_OUT)]
    stopped = [r for r in runs if r.outcome in (CheckOutcome.CANCELLED, CheckOutcome.NOT_RUN)]
    parts = []
    if failing:
        text = f"{len(failing)} of {total} check{'s' if total != 1 else ''} failing: {_named(failing)}"
        if by_severity and len(failing) > CHECKS_NAMED:
            text += f" ({_by_severity(failing)})"
        parts.append(text)
    if errored:
        timed_out = sum(1 for r in errored if r.outcome is CheckOutcome.TIMED_OUT)
        what = "errored or timed out" if timed_out and timed_out < len(errored) else (
            "timed out" if timed_out else "errored")
        of = "" if failing else f" of {total} check{'s' if total != 1 else ''}"  # said once is enough
        parts.append(f"{len(errored)}{of} {what}: {_named(errored, with_severity=False)}")
    if warning:
        parts.append(f"{len(warning)} with warnings: {_named(warning, with_severity=False)}")
    if stopped:
        parts.append(f"{len(stopped)} did not finish")
    if not failing and not errored:
        parts.insert(0, f"none of {total} check{'s' if total != 1 else ''} failing")
    return "; ".join(parts)


def pillar_verdict(pillar: str, runs: list[CheckRun]) -> Verdict:
    """A pillar subflow's final state, from its checks' outcomes.

    Findings first: a pillar any of whose checks failed is "Failing" (its message also names the
    checks that errored); otherwise "Partial" when a check errored or timed out and another
    executed, Failed when none executed, "Warning" when only warnings were found, Cancelled when
    the run was aborted before its checks finished.
    """
    text = findings_text(runs)
    executed = [r for r in runs if r.outcome is CheckOutcome.EXECUTED]
    errored = [r for r in runs if r.outcome in (CheckOutcome.ERRORED, CheckOutcome.TIMED_OUT)]
    if runs and all(r.outcome in (CheckOutcome.CANCELLED, CheckOutcome.NOT_RUN) for r in runs):
        return Verdict("cancelled", "Cancelled", f"{pillar}: the run ended before its checks finished")
    if any(r.counts().get("failing") for r in executed):
        return Verdict("completed", FAILING, text, logging.WARNING)
    if errored and not executed:
        return Verdict("failed", "Failed", text, logging.ERROR)
    if errored:
        return Verdict("completed", PARTIAL, text, logging.WARNING)
    if any(r.counts().get("warning") for r in executed):
        return Verdict("completed", WARNING, text)
    return Verdict("completed", COMPLETED, text)


def run_message(
    run_id: str,
    state: str,
    runs: list[CheckRun],
    *,
    objects: int | None = None,
    score: Mapping[str, Any] | None = None,
) -> str:
    """The flow run's state message for a run that evaluated its checks: kwa's outcome, the failing
    checks worst first, the result counts, the score.

    ``completed: 2 of 100 checks failing: SEC-001 (critical), SEC-004 (high); results: 3 failing,
    1 warning, 40 passing, 4 skipped on 240 objects; score 85 B; kwa run run_…``: the outcome
    first, as the UI cuts a state message after some 70 characters ("See More").
    """
    if not runs:
        return f"{state}; kwa run {run_id}"
    tally: dict[str, int] = {}
    for r in runs:
        for status, n in r.counts().items():
            tally[status] = tally.get(status, 0) + n
    parts = [f"{state}: {findings_text(runs, by_severity=True)}"]
    results = counts_text(tally)
    if results != "no objects to evaluate":
        parts.append(f"results: {results}" + (f" on {objects} object{'s' if objects != 1 else ''}" if objects else ""))
    if score and isinstance(score.get("score"), int | float) and not score.get("incomplete"):
        from storage.grades import compact_score_text

        parts.append(f"score {compact_score_text(score)}")  # the one display rule: 80.4 B, as the report
    parts.append(f"kwa run {run_id}")
    return "; ".join(parts)


def logger(name: str = "kwa") -> Any:
    """kwa's logger for the current flow or task run (``prefect.flow_runs.kwa`` or
    ``prefect.task_runs.kwa``, the run's ids attached); a plain ``kwa.run`` logger outside a run."""
    try:
        from prefect import get_run_logger

        return get_run_logger().getChild(name)
    except Exception:  # no run context (a check recorded after the API went away): stay quiet in Prefect
        return logging.getLogger("kwa.run")
