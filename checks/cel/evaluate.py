"""Evaluating a CEL check over a snapshot: what each object's expressions see, and the results.

For every object the check matches (``spec.match``) the activation holds:

* ``object``: the object as read (its JSON), ``oldObject``: null (there is no update to compare);
* ``params``: the check's ``spec.params`` (null when it declares none);
* ``namespaceObject``: the object's Namespace from the snapshot (null for cluster-scoped objects
  and when the snapshot holds no such Namespace);
* ``request``: ``{kind: {group, version, kind}, namespace, name, operation: "AUDIT", dryRun: true}``;
* ``variables``: the check's ``spec.variables``, evaluated in order (each may use the earlier ones);
* ``objects``: every object of the snapshot by kind (``objects.PodDisruptionBudget`` is a list),
  for cross-object rules. Converted once per check, and only the kinds an expression names.

Results: one ``failing`` result per failed validation of an object (its ``message``, or what its
``messageExpression`` returns), one ``error`` result per validation that could not be evaluated
on it (never ``passing``), else one ``passing`` result; with the object's file and lines like any
built-in's. When no object matches, one ``skipped`` (``not-applicable``) result says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.cel.batch import VARIABLES as BATCH_VARIABLES
from checks.cel.batch import Batch, Outcome
from checks.cel.engine import Bound, CelEvaluationError, Environment, Program
from checks.cel.paths import WHOLE
from checks.cel.spec import CheckSpec, Match
from checks.context import CheckContext
from checks.k8s import selector_matches
from checks.model import Result, SkipReason, Status
from checks.snapshot import K8sObject, Snapshot

OPERATION = "AUDIT"


def matching(snapshot: Snapshot, match: Match) -> list[K8sObject]:
    """The objects ``match`` selects, as a policy's matchConstraints would."""
    objects = snapshot.of_kind(*match.kinds) if match.kinds else list(snapshot.objects)
    out = []
    for obj in objects:
        ns = obj.namespace
        if match.namespaces is not None and ns not in match.namespaces:
            continue
        if ns in match.exclude_namespaces:
            continue
        if match.namespace_selector is not None and ns:
            namespace = snapshot.get("Namespace", None, ns)
            if not selector_matches(match.namespace_selector, namespace.labels if namespace else {}):
                continue
        if match.object_selector is not None and not selector_matches(match.object_selector, obj.labels):
            continue
        out.append(obj)
    return out


def _objects_by_kind(snapshot: Snapshot, programs: tuple[Program, ...]) -> dict[str, list[Any]] | None:
    """``objects`` for the kinds the check's expressions name (every kind if one uses it whole)."""
    trees = [p.paths["objects"] for p in programs if "objects" in p.paths]
    if not trees:
        return None
    if any(t is WHOLE for t in trees):
        kinds: set[str] = set(snapshot.kinds())
    else:
        kinds = {k for t in trees for k in t}  # type: ignore[union-attr]
    return {kind: [o.raw for o in snapshot.of_kind(kind)] for kind in kinds}


def _request(obj: K8sObject) -> dict[str, Any]:
    group, _, version = (obj.api_version or "").rpartition("/")
    return {
        "kind": {"group": group, "version": version, "kind": obj.kind},
        "namespace": obj.namespace or "",
        "name": obj.name,
        "operation": OPERATION,
        "dryRun": True,
    }


def run_check(spec: CheckSpec, ctx: CheckContext) -> Iterator[Result]:
    snapshot = ctx.snapshot
    subjects = matching(snapshot, spec.match)
    if not subjects:
        kinds = ", ".join(spec.match.kinds) or "any kind"
        yield Result(Status.SKIPPED, f"no object matches ({kinds})", reason=SkipReason.NOT_APPLICABLE)
        return
    programs = spec.programs
    by_kind = _objects_by_kind(snapshot, programs)
    if by_kind is not None:  # a cross-object rule: every object at once (checks.cel.batch)
        env = Environment({"objects": by_kind, "params": spec.params}, programs=programs, names=BATCH_VARIABLES)
        activations = [_activation(snapshot, obj, set(env.trees)) for obj in subjects]
        yield from _judge_all(spec, ctx, Batch(env), activations)
        return
    # Each object's values are converted once for all of the check's expressions (checks.cel.engine).
    env = Environment(None, programs=programs)
    reads = set(env.trees)
    wants_namespace, wants_request = "namespaceObject" in reads, "request" in reads
    for obj in subjects:
        activation: dict[str, Any] = {"object": obj.raw, "params": spec.params}
        if wants_namespace and obj.namespace:
            namespace = snapshot.get("Namespace", None, obj.namespace)
            activation["namespaceObject"] = namespace.raw if namespace is not None else None
        if wants_request:
            activation["request"] = _request(obj)
        yield from _judge(spec, ctx, env.bind(activation), obj)


def _activation(snapshot: Snapshot, obj: K8sObject, reads: set[str]) -> dict[str, Any]:
    activation: dict[str, Any] = {"object": obj.raw, "variables": {}, "_kwa_obj": obj}
    if "namespaceObject" in reads and obj.namespace:
        namespace = snapshot.get("Namespace", None, obj.namespace)
        activation["namespaceObject"] = namespace.raw if namespace is not None else None
    if "request" in reads:
        activation["request"] = _request(obj)
    return activation


def _judge_all(spec: CheckSpec, ctx: CheckContext, batch: Batch, subjects: list[dict[str, Any]]) -> Iterator[Result]:
    """The results of a cross-object check, every expression evaluated over all objects at once."""
    broken: dict[int, tuple[str, str]] = {}  # subject index -> (variable, error)
    alive = list(range(len(subjects)))
    for name, program in spec.variables:
        outcomes = batch.evaluate(program, [subjects[i] for i in alive])
        for i, (ok, value) in zip(alive, outcomes, strict=True):
            if ok:
                subjects[i]["variables"][name] = value
            else:
                broken[i] = (name, value)
        alive = [i for i in alive if i not in broken]
    verdicts: dict[int, list[Outcome]] = {i: [] for i in alive}
    for validation in spec.validations:
        for i, outcome in zip(alive, batch.evaluate(validation.expression, [subjects[i] for i in alive]), strict=True):
            verdicts[i].append(outcome)
    messages: dict[tuple[int, int], Outcome] = {}
    for v, validation in enumerate(spec.validations):
        if validation.message_expression is None:
            continue
        failed = [i for i in alive if verdicts[i][v] == (True, False)]
        for i, outcome in zip(
            failed, batch.evaluate(validation.message_expression, [subjects[i] for i in failed]), strict=True
        ):
            messages[(i, v)] = outcome
    for i, subject in enumerate(subjects):
        obj = subject["_kwa_obj"]
        if i in broken:
            name, error = broken[i]
            yield ctx.error(obj, f"variables.{name}: {error}", details={"variable": name})
            continue
        clean = True
        for v, (ok, verdict) in enumerate(verdicts[i]):
            validation = spec.validations[v]
            if ok and verdict is True:
                continue
            clean = False
            if not ok or not isinstance(verdict, bool):
                error = verdict if not ok else f"the expression returned {type(verdict).__name__}, not a bool"
                yield ctx.error(obj, f"validations[{v}]: {error}", details={"validation": v})
                continue
            details: dict[str, Any] = {"validation": v}
            if validation.reason:
                details["reason"] = validation.reason
            yield ctx.fail(obj, _chosen_message(validation, messages.get((i, v)), details), details=details)
        if clean:
            yield ctx.ok(obj)


def _chosen_message(validation: Any, outcome: Outcome | None, details: dict[str, Any]) -> str:
    fallback = validation.message or f"failed expression: {validation.expression.source.strip()}"
    if outcome is None:
        return fallback
    ok, text = outcome
    if not ok:
        details["messageExpression"] = f"error: {text}"
        return fallback
    if not isinstance(text, str) or not text.strip():
        details["messageExpression"] = "did not return a non-empty string"
        return fallback
    return text.strip().replace("\n", " ")


def _judge(spec: CheckSpec, ctx: CheckContext, bound: Bound, obj: K8sObject) -> Iterator[Result]:
    for name, program in spec.variables:
        try:
            bound.variables[name] = bound.run(program)
        except CelEvaluationError as exc:
            yield ctx.error(obj, f"variables.{name}: {exc}", details={"variable": name})
            return
    clean = True
    for i, validation in enumerate(spec.validations):
        try:
            verdict = bound.run(validation.expression)
            if not isinstance(verdict, bool):
                raise CelEvaluationError(f"the expression returned {type(verdict).__name__}, not a bool")
        except CelEvaluationError as exc:
            clean = False
            yield ctx.error(obj, f"validations[{i}]: {exc}", details={"validation": i})
            continue
        if verdict:
            continue
        clean = False
        details: dict[str, Any] = {"validation": i}
        if validation.reason:
            details["reason"] = validation.reason
        yield ctx.fail(obj, _message(validation, bound, details), details=details)
    if clean:
        yield ctx.ok(obj)


def _message(validation: Any, bound: Bound, details: dict[str, Any]) -> str:
    """The failing result's message: the messageExpression's string, else ``message``, else the
    expression itself (as the API server says it)."""
    fallback = validation.message or f"failed expression: {validation.expression.source.strip()}"
    if validation.message_expression is None:
        return fallback
    try:
        text = bound.run(validation.message_expression)
    except CelEvaluationError as exc:
        details["messageExpression"] = f"error: {exc}"
        return fallback
    if not isinstance(text, str) or not text.strip():
        details["messageExpression"] = "did not return a non-empty string"
        return fallback
    return text.strip().replace("\n", " ")
