"""What a finished run amounts to beyond its state: did it assess anything at all?

A run over an empty stdin, an empty or unreadable directory, a directory of non-Kubernetes YAML
or a cluster that lists no object ends ``completed``: every check executed, over nothing. A CI
gate would then pass on nothing (no failing result, nothing below a score). "Nothing was
assessed" is therefore its own outcome, read from what the run stored (``runs.summary``: the
objects the snapshot held, what reading found; the history row's counts), so it holds for every
run whoever executed it, and for runs stored before this rule:

* the snapshot held no object to assess (``objects == 0``; ``completed`` or ``partial``), or
* a ``completed`` run read objects but no check judged any of them: not one ``passing``,
  ``failing`` or ``warning`` result (every result skipped or exempt, or no object of a kind the
  selected checks look at). A ``partial`` run whose checks errored on the objects it read keeps
  its own outcome (exit 3): the errors say why nothing was judged, and the run did not go well.

``kwa run`` exits 9 for it (``flows.run``), ``kwa query assessments summary`` with a gate too,
and ``kwa runs get`` shows it among the run's warnings. Runs that ended ``failed`` or ``aborted``
keep those outcomes (their own exit codes say more).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["EXIT_NOTHING_ASSESSED", "JUDGED", "nothing_assessed"]

EXIT_NOTHING_ASSESSED = 9
"""Exit code of ``kwa run`` (and of a gated ``summary``) when the run assessed nothing."""

JUDGED = ("passing", "failing", "warning")  # statuses that are a verdict on an object
_NOTHING_READ = "no Kubernetes objects"  # how checks.sources.manifests starts its "nothing read" problem
_OUTCOMES = ("completed", "partial")


def nothing_assessed(run: Mapping[str, Any], counts: Mapping[str, Any] | None = None) -> str | None:
    """Why ``run`` assessed nothing (one line for a user), or None when it assessed something.

    ``counts``: results by status (the history row's ``<status>_count`` or a plain status map);
    without them only the "no object at all" half of the rule can be decided.
    """
    if run.get("state") not in _OUTCOMES:
        return None
    facts = run.get("summary") if isinstance(run.get("summary"), Mapping) else {}
    objects = facts.get("objects")
    if isinstance(objects, bool) or not isinstance(objects, int):
        return None  # the run stored no snapshot facts (it never got that far): nothing to say
    where = str(facts.get("snapshot") or run.get("source") or "the input")
    if objects == 0:
        return f"{where}: {_why_no_object(facts)}"
    judged = _judged(counts)
    if judged is None or judged > 0 or run.get("state") != "completed":
        return None
    results = _results(counts)
    noun = "object" if objects == 1 else "objects"
    if not results:
        detail = "none is of a kind the selected checks assess"
    else:
        total = sum(results.values())
        detail = f"its {total:,} result{'s' if total != 1 else ''}: " + ", ".join(
            f"{n:,} {status}" for status, n in results.items()
        )
    return f"{where}: {objects:,} {noun} read, but no check judged any of them ({detail})"


def _why_no_object(facts: Mapping[str, Any]) -> str:
    malformed = facts.get("malformed") if isinstance(facts.get("malformed"), Mapping) else {}
    quarantined = int(malformed.get("count") or 0)
    if quarantined:
        noun = "object" if quarantined == 1 else "objects"
        return (
            f"all {quarantined:,} {noun} read were quarantined (a field of the wrong type), "
            "so no object was left to assess"
        )
    for problem in facts.get("problems") or []:
        text = str(problem)
        if _NOTHING_READ in text:
            return text[text.index(_NOTHING_READ) :]
    read = facts.get("read") if isinstance(facts.get("read"), Mapping) else {}
    if read:
        inputs, done = int(read.get("inputs") or 0), int(read.get("read") or 0)
        if not inputs:
            return f"{_NOTHING_READ}: no .yaml, .yml or .json files"
        if not done:
            return f"{_NOTHING_READ}: none of the {inputs:,} inputs could be read"
        return f"{_NOTHING_READ}: {int(read.get('documents') or 0):,} documents read, none is one"
    unavailable = facts.get("unavailable") if isinstance(facts.get("unavailable"), Mapping) else {}
    missing = [k for k, why in unavailable.items() if not str(why).startswith("not installed")]
    if missing:
        return f"no objects listed ({len(missing)} kinds could not be listed: {', '.join(sorted(missing)[:5])})"
    return "no objects listed: the cluster holds none of the kinds kwa reads"


def _judged(counts: Mapping[str, Any] | None) -> int | None:
    if counts is None:
        return None
    return sum(_count(counts, status) for status in JUDGED)


def _results(counts: Mapping[str, Any] | None) -> dict[str, int]:
    out = {}
    for status in ("skipped", "error", "timeout"):
        n = _count(counts or {}, status)
        if n:
            out[status] = n
    return out


def _count(counts: Mapping[str, Any], status: str) -> int:
    value = counts.get(status, counts.get(f"{status}_count", 0))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
