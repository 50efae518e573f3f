"""Evaluate one check against a snapshot, as a plain function (no Prefect).

The orchestration layer wraps :func:`evaluate` in a Prefect task and a hard deadline; tests and the
benchmark call it directly. Everything that decides whether a check *can* run lives here: mode
(live-only checks on manifests), opt-in and disabled checks, and resources the credentials could not
list; and what happens to its verdicts afterwards: exemptions (annotations, config rules, shipped
defaults) turn exempted verdicts into ``skipped`` results, inside the forked worker that ran the check.

Two things keep one bad object from costing more than its own verdicts:

* objects the input boundary quarantined (``Snapshot.malformed``) get one ``error`` row (reason
  ``malformed``) from every check that would have evaluated them: the checks whose ``requires``
  names their kind, and the checks with an empty ``requires``, which read every object;
* when a check raises, :func:`checks.safety.isolate` looks for the object(s) it fails on; they get
  an ``error`` row each (reason ``check-error``) and everything else the verdicts it gets without
  them. Only when no object is to blame (or the search is out of budget) does the exception
  propagate, and the check errors as a whole.

And one keeps a bad object from passing: an object that breaks the Kubernetes schema of the target
version (:mod:`checks.schema_full`, reported by OPS-012) gets, from every other check that would
call it ``passing``, an ``error`` row (reason ``schema-invalid``) naming its invalid fields: a
verdict about a field the API server would reject, or never sees, is no pass. Failing, warning and
skipped verdicts stand. Disabling OPS-012 turns this off too.
"""

from __future__ import annotations

import time

from checks.config import Config
from checks.context import CheckContext
from checks.model import CheckDefinition, ErrorReason, Mode, Result, SkipReason, Status
from checks.objects import MalformedObject
from checks.positions import field_position
from checks.safety import isolate
from checks.schema_full import INDEX, SCHEMA_CHECK, VERSION_SETTING, SchemaFindings
from checks.snapshot import Snapshot

MALFORMED = ErrorReason.MALFORMED  # the reason stored with a quarantined object's error rows
# Share of the check's timeout the culprit search may use, so that a search that cannot finish
# ends as the check's own error rather than as a timeout; without a configured timeout, seconds
# (the run's default check timeout is 30 s, enforced by the worker's hard deadline).
SEARCH_SHARE = 0.8
SEARCH_SECONDS = 20.0


def preflight(check: CheckDefinition, snapshot: Snapshot, config: Config) -> list[Result] | None:
    """Results that replace evaluation (skip or error), or None when the check should run."""
    if check.id in config.disabled:
        return [Result(Status.SKIPPED, "check is disabled in the config", reason=SkipReason.DISABLED)]
    if check.opt_in and check.id not in config.enabled:
        return [
            Result(
                Status.SKIPPED,
                f"opt-in check; add {check.id} to 'enabled' in the config to run it",
                reason=SkipReason.DISABLED,
            )
        ]
    if check.mode in (Mode.LIVE, Mode.LIVE_METRICS) and not snapshot.is_live:
        return [
            Result(Status.SKIPPED, "needs a live cluster; this run assessed manifests", reason=SkipReason.REQUIRES_LIVE)
        ]
    if check.mode is Mode.LIVE_METRICS and snapshot.metrics is None:
        return [
            Result(
                Status.SKIPPED, "metrics.k8s.io is not available on this cluster", reason=SkipReason.REQUIRES_METRICS
            )
        ]
    # An optional add-on that is simply not installed (VPA, Karpenter, KEDA) is an answer, not an error.
    missing = [
        f"{kind}: {snapshot.unavailable[kind]}"
        for kind in check.requires
        if kind in snapshot.unavailable and not snapshot.unavailable[kind].startswith("not installed")
    ]
    if missing:
        return [Result(Status.ERROR, "cannot evaluate, resource not listed: " + "; ".join(missing))]
    return None


def evaluate(
    check: CheckDefinition, snapshot: Snapshot, config: Config | None = None, *, deadline: float | None = None
) -> list[Result]:
    """Run ``check`` and return its results, exemptions applied, plus one error row per quarantined
    object it would have evaluated. An exception that no object can be blamed for propagates.

    ``deadline`` (``time.monotonic()``) bounds the culprit search; by default it is
    :data:`SEARCH_SHARE` of the check's configured timeout, else :data:`SEARCH_SECONDS`.
    """
    config = config or Config()
    early = preflight(check, snapshot, config)
    if early is not None:
        return early
    started = time.monotonic()

    def run(snap: Snapshot) -> list[Result]:
        return config.exemptions.apply(check, snap, check.func(CheckContext(snap, config, check)))

    try:
        results = run(snapshot)
    except MemoryError:
        raise  # searching would allocate as much again: the check errors as a whole
    except Exception:
        if deadline is None:
            timeout = (config.checks.get(check.id) or {}).get("timeout") or check.timeout or config.check_timeout
            deadline = started + (SEARCH_SHARE * float(timeout) if timeout else SEARCH_SECONDS)
        isolated = isolate(check, snapshot, run, deadline)
        if isolated is None:
            raise
        results = isolated
    return not_passing_when_invalid(check, snapshot, config, results) + quarantined(check, snapshot)


SHOWN_PATHS = 3  # invalid fields named in an error row's message (details keep them all)


def not_passing_when_invalid(
    check: CheckDefinition, snapshot: Snapshot, config: Config, results: list[Result]
) -> list[Result]:
    """``results`` with each passing verdict on a schema-invalid object turned into an error."""
    if check.id == SCHEMA_CHECK or SCHEMA_CHECK in config.disabled:
        return results
    if not any(r.status is Status.PASSING and r.kind for r in results):
        return results
    findings: SchemaFindings = snapshot.index(INDEX)
    configured = config.setting(SCHEMA_CHECK, VERSION_SETTING, None)
    invalid = findings.invalid_by_name(configured)
    if not invalid:
        return results
    bundle, _ = findings.target(configured)
    label = bundle.label if bundle is not None else "Kubernetes"
    out = []
    for r in results:
        verdict = invalid.get((r.kind, r.namespace, r.name)) if r.status is Status.PASSING and r.kind else None
        if verdict is not None:
            violations = verdict.violations
            against = verdict.against or label
            shown = "; ".join(str(v) for v in violations[:SHOWN_PATHS])
            if len(violations) > SHOWN_PATHS:
                shown += f" (and {len(violations) - SHOWN_PATHS} more)"
            r.status = Status.ERROR
            r.message = f"not judged: the object is invalid against {against} ({SCHEMA_CHECK}): {shown}"
            r.reason = ErrorReason.SCHEMA_INVALID
            r.details = {"schema": against, "violations": [v.as_dict() for v in violations], "verdict": "passing"}
            r.field_path = violations[0].path or None
            obj = snapshot.get(r.kind or "", r.namespace, r.name or "")
            found = field_position(obj.place, r.field_path) if r.field_path and obj is not None else None
            r.field_line, r.field_column = found if found else (None, None)
        out.append(r)
    return out


def quarantined(check: CheckDefinition, snapshot: Snapshot) -> list[Result]:
    """One error row per malformed object of a kind ``check`` evaluates (any kind when it requires none)."""
    if not snapshot.malformed or check.id == SCHEMA_CHECK:  # that check reports them itself
        return []
    kinds = check.requires
    return [malformed_result(m) for m in snapshot.malformed if not kinds or m.obj.kind in kinds]


def malformed_result(m: MalformedObject) -> Result:
    line, column, end_line, path, path_line, path_column = m.position()
    return Result(
        Status.ERROR,
        m.message(),
        kind=m.kind,
        namespace=m.namespace,
        name=m.name,
        reason=MALFORMED,
        source=m.where or None,
        details={"schema": m.schema, "problems": [p.as_dict() for p in m.problems], "problems_total": m.total},
        line=line,
        end_line=end_line,
        field_path=path,
        field_line=path_line,
        column=column,
        field_column=path_column,
    )
