"""The per-check safety net: when a check raises, find the object(s) it fails on and keep the rest.

The input boundary (checks/objects.py) guarantees field *types*; a check can still fail on a value
the schema cannot rule out (a missing required field, an odd combination) or simply have a bug.
Without this net one such object turns the whole check into a single ``error`` row: every other
object loses its verdict.

:func:`isolate` re-runs the check on snapshots without some of its candidate objects (the kinds
the check ``requires``; every object when it requires none) to find the culprits by bisection:

1. without any candidate: if the check still fails, no object is to blame; give up.
2. find the shortest prefix of the candidates on which the check fails (binary search); its last
   object is a culprit. Drop it and try everything else again; repeat until the check succeeds.

Each culprit costs about ``log2(candidates) + 1`` evaluations. Bounded by :data:`MAX_CULPRITS`,
:data:`MAX_EVALUATIONS` and an optional deadline: past any bound the check errors as a whole, as
it did without the net. It runs wherever the check runs (in the forked worker, under the check's
hard timeout). The rebuilt snapshots are complete: every index, registered index and exemption
grant is rebuilt (on first use) from the objects they keep, as for any snapshot.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from checks.model import CheckDefinition, ErrorReason, Result, Status
from checks.snapshot import K8sObject, Snapshot

MAX_CULPRITS = 5
MAX_EVALUATIONS = 64
REASON = ErrorReason.CHECK_ERROR  # the reason stored with a culprit's error row
MAX_MESSAGE = 300

Evaluation = Callable[[Snapshot], list[Result]]


class _OutOfBudget(Exception):
    pass


@dataclass
class Culprit:
    obj: K8sObject
    error: BaseException

    def result(self, check: CheckDefinition) -> Result:
        obj = self.obj
        where = f" ({obj.where})" if obj.where else ""
        text = f"{type(self.error).__name__}: {self.error}" if str(self.error) else type(self.error).__name__
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 1] + "…"
        message = f"{obj.ref}{where}: {check.id} failed on this object ({text}{_origin(self.error)}); "
        message += "every other object was assessed without it"
        return Result(
            Status.ERROR,
            message,
            kind=obj.kind or "?",
            namespace=obj.namespace,
            name=obj.name or "?",
            reason=REASON,
            source=obj.where or None,
            details={"exception": type(self.error).__name__, "message": text},
            line=obj.place.line if obj.place is not None else None,
            end_line=obj.place.end_line if obj.place is not None else None,
            column=obj.place.column if obj.place is not None else None,
        )


def _origin(error: BaseException) -> str:
    """`` at checks/reliability/references.py:180``: the innermost frame inside the checks package, if any."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = frame.filename.replace("\\", "/")
        at = path.rfind("/checks/")
        if at >= 0:
            return f" at {path[at + 1 :]}:{frame.lineno}"
    return ""


def isolate(
    check: CheckDefinition, snapshot: Snapshot, run: Evaluation, deadline: float | None = None
) -> list[Result] | None:
    """The check's results with its culprits left out (one error row each), or None when the
    failure cannot be pinned on at most :data:`MAX_CULPRITS` objects within the budget."""
    kinds = set(check.requires)
    candidates = [o for o in snapshot.objects if not kinds or o.kind in kinds]
    if not candidates:
        return None
    spent = 0

    def attempt(drop: list[K8sObject]) -> list[Result] | BaseException:
        nonlocal spent
        if spent >= MAX_EVALUATIONS or (deadline is not None and time.monotonic() >= deadline):
            raise _OutOfBudget
        spent += 1
        try:
            return run(snapshot.without(drop))
        except Exception as exc:
            return exc

    try:
        if isinstance(attempt(candidates), BaseException):
            return None  # it fails without any of these objects: not theirs to blame
        culprits: list[Culprit] = []
        good = 0  # candidates[:good], minus culprits, evaluate cleanly
        while True:
            dropped = [c.obj for c in culprits]
            outcome = attempt(dropped)
            if not isinstance(outcome, BaseException):
                return outcome + [c.result(check) for c in culprits]
            if len(culprits) >= MAX_CULPRITS or good >= len(candidates):
                return None  # too many, or a check whose failure comes and goes
            low, high, failure = good, len(candidates), outcome
            while high - low > 1:
                middle = (low + high) // 2
                tried = attempt(dropped + candidates[middle:])
                if isinstance(tried, BaseException):
                    high, failure = middle, tried
                else:
                    low = middle
            culprits.append(Culprit(candidates[high - 1], failure))
            good = high
    except _OutOfBudget:
        return None
