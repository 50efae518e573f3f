"""One bound policy evaluated against one existing object: the verdict the cluster would give today.

Per object and binding, for each param (:mod:`checks.vap.params`), as the API server does:
``matchConditions`` first (all must be true; false leaves the object alone), then ``variables``
(in order, each seeing the ones before it as ``variables.<name>``), then every validation, then
the audit annotations. The activation is the admission one for an object written again:
``object``; ``oldObject`` null; ``params``; ``namespaceObject`` (the object's Namespace from the
snapshot with the ``kubernetes.io/metadata.name`` label the API server sets, or a Namespace with
only its name and that label when the snapshot lacks it; null for a cluster-scoped object);
``request`` (kind, resource, requestKind, requestResource, name, namespace, operation, a
``userInfo`` with empty name and groups, ``dryRun`` false). There is no ``authorizer``: an
expression that uses it cannot be judged, and says so.

The verdict, in order of precedence:

* a validation false → ``failing`` when the binding's ``validationActions`` include Deny, else
  ``warning`` (Warn and/or Audit: the cluster admits the object and warns or records it), with the
  validation's message (``messageExpression``, else ``message``, else ``failed expression: …``);
* an expression error or a binding configuration error (a param not found with
  ``parameterNotFoundAction: Deny``) → under ``failurePolicy: Fail`` an ``error`` saying the
  cluster would reject the object; under ``Ignore`` ``skipped`` (reason ``failure-policy-ignore``):
  the cluster admits it without a verdict;
* something kwa cannot see (``authorizer``, an expression its CEL engine cannot compile, a Secret
  param, a param kind not listed) → ``error``, whatever the failure policy;
* otherwise ``passing``.

A Secret that a policy matches is seen as a live run holds it, whatever the source: kind,
metadata and type, never a value (manifests carry ``data``; no expression or message may read it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.model import Status
from checks.snapshot import K8sObject, Snapshot
from checks.vap.cel import Compiled, uses_authorizer
from checks.vap.matching import NAME_LABEL, Subject
from checks.vap.params import Params
from checks.vap.policies import Binding, Expression, Policy

IGNORED = "failure-policy-ignore"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # holds a Secret's values
_MAX_MESSAGE = 5000


@dataclass
class Verdict:
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    field: str | None = None
    reason: str | None = None


class Judge:
    """Evaluates one policy, compiled once, against its subjects."""

    def __init__(self, policy: Policy, compiled: Compiled, snapshot: Snapshot) -> None:
        self.policy = policy
        self.compiled = compiled
        self.snapshot = snapshot
        self._namespaces: dict[str, dict[str, Any]] = {}

    # ---- the activation -----------------------------------------------------------------------
    def activation(self, subject: Subject, operation: str, param: K8sObject | None) -> dict[str, Any]:
        namespace_object = None
        if subject.namespace and subject.resource.resource != "namespaces":
            namespace_object = self._namespace_object(subject.namespace)
        res = subject.resource
        return {
            "object": _secret_metadata(subject.obj.raw)
            if res.kind == "Secret" and res.group == ""
            else subject.obj.raw,
            "oldObject": None,
            "params": param.raw if param is not None else None,
            "namespaceObject": namespace_object,
            "request": {
                "kind": res.gvk,
                "resource": res.gvr,
                "subResource": "",
                "requestKind": res.gvk,
                "requestResource": res.gvr,
                "requestSubResource": "",
                "name": subject.name,
                "namespace": subject.namespace,
                "operation": operation,
                # An existing object has no requester: a user with no name and no groups.
                "userInfo": {"username": "", "uid": "", "groups": [], "extra": {}},
                "dryRun": False,
                "options": None,
            },
            "variables": {},
        }

    def _namespace_object(self, name: str) -> dict[str, Any]:
        found = self._namespaces.get(name)
        if found is None:
            obj = self.snapshot.get("Namespace", None, name)
            raw = (
                obj.raw if obj is not None and isinstance(obj.raw, dict) else {"apiVersion": "v1", "kind": "Namespace"}
            )
            meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
            labels = {**(meta.get("labels") or {}), NAME_LABEL: name}
            found = self._namespaces[name] = {**raw, "metadata": {**meta, "name": name, "labels": labels}}
        return found

    # ---- one object, one binding ------------------------------------------------------------------
    def judge(self, binding: Binding, subject: Subject, operation: str, params: Params) -> Verdict | None:
        """The verdict for ``subject`` under ``binding``; None when matchConditions leave it alone."""
        base = {
            "policy": self.policy.name,
            "binding": binding.name,
            "validationActions": list(binding.actions),
            "failurePolicy": self.policy.failure_policy,
            "operation": operation,
        }
        if params.unknown:
            return Verdict(Status.ERROR, f"kwa cannot evaluate this policy here: {params.unknown}", base)
        if params.cluster_error:
            return self._errored(binding, [params.cluster_error], base)
        if not params.objects:
            return Verdict(
                Status.PASSING, "no params found; parameterNotFoundAction Allow admits it", {**base, "params": []}
            )
        failures: list[dict[str, Any]] = []
        errors: list[str] = []
        blind: list[str] = []
        annotations: dict[str, Any] = {}
        evaluated = 0
        for param in params.objects:
            outcome = self._one(subject, operation, param)
            if outcome is None:
                continue
            evaluated += 1
            failures.extend(outcome.failures)
            errors.extend(outcome.errors)
            blind.extend(outcome.blind)
            annotations.update(outcome.annotations)
        if not evaluated:
            return None
        details = {**base, "params": [p.ref for p in params.objects if p is not None] or None}
        if annotations:
            details["auditAnnotations"] = annotations
        if failures:
            details["failures"] = failures
            first = failures[0]
            text = first["message"] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
            status = Status.FAILING if binding.denies else Status.WARNING
            return Verdict(status, self._say(binding, text), details, field=None)
        # Under Fail an error decides whatever kwa could not see; under Ignore what kwa could not
        # see might still have failed, so it is not a verdict of "admitted".
        if errors and self.policy.failure_policy == "Fail":
            return self._errored(binding, errors, details)
        if blind:
            details["unevaluated"] = blind
            return Verdict(Status.ERROR, "kwa cannot evaluate it: " + "; ".join(blind), details)
        if errors:
            return self._errored(binding, errors, details)
        return Verdict(Status.PASSING, "", details)

    def _say(self, binding: Binding, text: str) -> str:
        if binding.denies:
            return (
                f"ValidatingAdmissionPolicy '{self.policy.name}' with binding '{binding.name}' denied request: {text}"
            )
        actions = ", ".join(binding.actions)
        return (
            f"Validation failed for ValidatingAdmissionPolicy '{self.policy.name}' with binding "
            f"'{binding.name}' ({actions}: admitted): {text}"
        )

    def _errored(self, binding: Binding, errors: list[str], details: dict[str, Any]) -> Verdict:
        details = {**details, "errors": errors}
        text = errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        if self.policy.failure_policy == "Ignore":
            return Verdict(
                Status.SKIPPED,
                f"failurePolicy Ignore: the cluster admits it despite an error: {text}",
                details,
                reason=IGNORED,
            )
        verb = "rejects" if binding.denies else "warns about"
        return Verdict(Status.ERROR, f"failurePolicy Fail: the cluster {verb} it because of an error: {text}", details)

    # ---- one param ----------------------------------------------------------------------------
    def _one(self, subject: Subject, operation: str, param: K8sObject | None) -> _Outcome | None:
        act = self.activation(subject, operation, param)
        out = _Outcome(param.ref if param is not None else None)
        # Variables are lazy in the API server: one that fails only matters where it is used.
        broken: dict[str, tuple[str, bool]] = {}  # name -> (why it has no value, kwa cannot see it)
        for name, expression in self.policy.variables:
            value, problem = self._run(expression, act, broken, None)
            if problem is None:
                act["variables"] = {**act["variables"], name: value}
            else:
                broken[name] = (problem, uses_authorizer(expression) or expression.path in self.compiled.problems)
        for name, expression in self.policy.match_conditions:
            value, problem = self._run(expression, act, broken, out)
            if problem is not None:
                return out  # the error is recorded: failurePolicy decides
            if value is not True:
                if value is not False:
                    out.errors.append(f"matchCondition '{name}' must evaluate to a bool, got {_type(value)}")
                    return out
                return None
        for n, validation in enumerate(self.policy.validations):
            value, problem = self._run(validation.expression, act, broken, out)
            if problem is not None:
                continue
            if value is True:
                continue
            if value is not False:
                out.errors.append(f"validations[{n}].expression must evaluate to a bool, got {_type(value)}")
                continue
            out.failures.append(
                {
                    "validation": n,
                    "param": out.param,
                    "reason": validation.reason,
                    "message": self._message(n, act, broken),
                }
            )
        for key, expression in self.policy.audit_annotations:
            value, problem = self._run(expression, act, broken, None)
            if problem is not None:
                out.annotations[f"{self.policy.name}/{key}"] = {"error": problem}
            elif value is not None:
                out.annotations[f"{self.policy.name}/{key}"] = value if isinstance(value, str) else str(value)
        return out

    def _message(self, n: int, act: dict[str, Any], broken: dict[str, tuple[str, bool]]) -> str:
        validation = self.policy.validations[n]
        if validation.message_expression is not None:
            value, problem = self._run(validation.message_expression, act, broken, None)
            if problem is None and isinstance(value, str) and value.strip() and "\n" not in value.strip():
                return value.strip()[:_MAX_MESSAGE]
        return validation.message or f"failed expression: {validation.expression.source}"

    def _run(
        self, expression: Expression, act: dict[str, Any], broken: dict[str, tuple[str, bool]], out: _Outcome | None
    ) -> tuple[Any, str | None]:
        """(value, None), or (None, why not) with the problem recorded on ``out``."""
        blind = False
        if uses_authorizer(expression):
            problem, blind = f"{expression.path} uses authorizer, which needs the API server's authorization", True
        else:
            program = self.compiled.programs.get(expression.path)
            missing = [name for name in broken if f"variables.{name}" in expression.source]
            if program is None:
                # The API server compiles every expression when a policy is written and refuses one
                # that does not compile, so a stored policy's compile error is kwa's engine's limit
                # (an unsupported function or syntax): the object cannot be judged.
                why = self.compiled.problems.get(expression.path, "?")
                problem, blind = f"{expression.path} does not compile in kwa's CEL engine: {why}", True
            elif missing:
                why, blind = broken[missing[0]]
                problem = f"{expression.path}: variable '{missing[0]}' has no value ({why})"
            else:
                value, error = self.compiled.run(program, act)
                if error is None:
                    return value, None
                problem = f"expression '{expression.source}' resulted in error: {error}"
        if out is not None:
            (out.blind if blind else out.errors).append(problem)
        return None, problem


def _secret_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    """A Secret as a live run holds it: kind, metadata and type, never a value (manifests carry
    ``data``; an expression, or a message made from one, must not be able to read it)."""
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    notes = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else None
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    if notes is not None:
        meta["annotations"] = {k: v for k, v in notes.items() if k != LAST_APPLIED}
    return {k: raw[k] for k in ("apiVersion", "kind", "type") if k in raw} | {"metadata": meta}


@dataclass
class _Outcome:
    param: str | None
    failures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blind: list[str] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


__all__ = ["IGNORED", "Judge", "Verdict"]
