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
    # The snapshot's objects are converted once for the check; without them each object's
    # values are converted once for all of the check's expressions (checks.cel.engine).
    env = Environment({"objects": by_kind} if by_kind is not None else None, programs=programs)
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
