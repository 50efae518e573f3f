"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects, read defensively.

The snapshot holds them as plain dicts; this module turns them into the few fields the audit uses,
with the API server's defaults applied (``failurePolicy: Fail``, ``matchPolicy: Equivalent``,
``parameterNotFoundAction: Deny``), and names what is wrong with one instead of raising: a policy
with a field of the wrong shape becomes a check whose only verdict is that error, so one broken
policy never stops the others. The three API versions (v1, v1beta1, v1alpha1) share the fields
read here; what v1alpha1 lacks (``validationActions`` before 1.27) takes the behaviour it had
(deny).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.snapshot import K8sObject, Snapshot

GROUP = "admissionregistration.k8s.io"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
ACTIONS = ("Deny", "Warn", "Audit")


@dataclass(frozen=True)
class Expression:
    """One CEL expression of a policy and the field it sits in (``spec.validations[0].expression``)."""

    source: str
    path: str


@dataclass
class Validation:
    expression: Expression
    message: str = ""
    message_expression: Expression | None = None
    reason: str = "Invalid"


@dataclass
class Policy:
    obj: K8sObject
    name: str
    failure_policy: str = "Fail"
    param_kind: tuple[str, str] | None = None  # (apiVersion, kind)
    match_constraints: dict[str, Any] = field(default_factory=dict)
    match_conditions: list[tuple[str, Expression]] = field(default_factory=list)
    variables: list[tuple[str, Expression]] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    audit_annotations: list[tuple[str, Expression]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        text = self.obj.annotations.get("kubernetes.io/description") if isinstance(self.obj.annotations, dict) else None
        return text if isinstance(text, str) else ""


@dataclass
class Binding:
    obj: K8sObject
    name: str
    policy_name: str
    actions: tuple[str, ...] = ("Deny",)
    param_ref: dict[str, Any] | None = None
    match_resources: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def denies(self) -> bool:
        return "Deny" in self.actions


def is_policy_object(obj: K8sObject) -> bool:
    return obj.kind in (POLICY_KIND, BINDING_KIND) and obj.api_version.startswith(GROUP + "/")


def read_all(snapshot: Snapshot) -> tuple[dict[str, Policy], list[Binding]]:
    """Every policy (by name) and binding of the snapshot, of any served API version."""
    policies: dict[str, Policy] = {}
    for obj in snapshot.of_kind(POLICY_KIND):
        if is_policy_object(obj) and obj.name:
            policies.setdefault(obj.name, read_policy(obj))
    bindings = [read_binding(o) for o in snapshot.of_kind(BINDING_KIND) if is_policy_object(o) and o.name]
    return policies, sorted(bindings, key=lambda b: b.name)


def _mapping(value: Any, path: str, problems: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    problems.append(f"{path} must be a mapping")
    return {}


def _items(value: Any, path: str, problems: list[str]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(f"{path} must be a list of mappings")
        return []
    return value


def _text(entry: dict[str, Any], key: str, path: str, problems: list[str], required: bool = False) -> str:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            problems.append(f"{path}.{key} is required")
        return ""
    if not isinstance(value, str):
        problems.append(f"{path}.{key} must be a string")
        return ""
    return value


def read_policy(obj: K8sObject) -> Policy:
    problems: list[str] = []
    raw = obj.raw if isinstance(obj.raw, dict) else {}
    spec = _mapping(raw.get("spec"), "spec", problems)
    policy = Policy(obj, obj.name, problems=problems)
    failure = spec.get("failurePolicy") or "Fail"
    if failure not in ("Fail", "Ignore"):
        problems.append(f"spec.failurePolicy must be Fail or Ignore, not {failure!r}")
        failure = "Fail"
    policy.failure_policy = failure
    param_kind = spec.get("paramKind")
    if param_kind is not None:
        pk = _mapping(param_kind, "spec.paramKind", problems)
        api_version = _text(pk, "apiVersion", "spec.paramKind", problems, required=True)
        kind = _text(pk, "kind", "spec.paramKind", problems, required=True)
        if api_version and kind:
            policy.param_kind = (api_version, kind)
    policy.match_constraints = _mapping(spec.get("matchConstraints"), "spec.matchConstraints", problems)
    if not policy.match_constraints.get("resourceRules"):
        problems.append("spec.matchConstraints.resourceRules is required (a policy without it matches nothing)")
    for kind_of, out in (("matchConditions", policy.match_conditions), ("variables", policy.variables)):
        for i, entry in enumerate(_items(spec.get(kind_of), f"spec.{kind_of}", problems)):
            path = f"spec.{kind_of}[{i}]"
            name = _text(entry, "name", path, problems, required=True)
            source = _text(entry, "expression", path, problems, required=True)
            if name and source:
                out.append((name, Expression(source, f"{path}.expression")))
    for i, entry in enumerate(_items(spec.get("validations"), "spec.validations", problems)):
        path = f"spec.validations[{i}]"
        source = _text(entry, "expression", path, problems, required=True)
        message_source = _text(entry, "messageExpression", path, problems)
        policy.validations.append(
            Validation(
                Expression(source, f"{path}.expression"),
                message=_text(entry, "message", path, problems),
                message_expression=Expression(message_source, f"{path}.messageExpression") if message_source else None,
                reason=_text(entry, "reason", path, problems) or "Invalid",
            )
        )
    for i, entry in enumerate(_items(spec.get("auditAnnotations"), "spec.auditAnnotations", problems)):
        path = f"spec.auditAnnotations[{i}]"
        key = _text(entry, "key", path, problems, required=True)
        source = _text(entry, "valueExpression", path, problems, required=True)
        if key and source:
            policy.audit_annotations.append((key, Expression(source, f"{path}.valueExpression")))
    if not policy.validations and not policy.audit_annotations:
        problems.append("spec.validations or spec.auditAnnotations is required")
    return policy


def read_binding(obj: K8sObject) -> Binding:
    problems: list[str] = []
    raw = obj.raw if isinstance(obj.raw, dict) else {}
    spec = _mapping(raw.get("spec"), "spec", problems)
    binding = Binding(obj, obj.name, _text(spec, "policyName", "spec", problems, required=True), problems=problems)
    actions = spec.get("validationActions")
    if actions is None and obj.api_version.endswith("/v1alpha1"):
        actions = ["Deny"]  # v1alpha1 before 1.27 had no actions: a failed validation denied
    if not isinstance(actions, list) or not actions:
        problems.append("spec.validationActions is required (Deny, Warn and/or Audit)")
        actions = []
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown:
        problems.append(f"spec.validationActions: {', '.join(map(str, unknown))} not one of Deny, Warn, Audit")
    if "Deny" in actions and "Warn" in actions:
        problems.append("spec.validationActions: Deny and Warn may not be used together")
    binding.actions = tuple(a for a in ACTIONS if a in actions)
    if spec.get("paramRef") is not None:
        ref = _mapping(spec.get("paramRef"), "spec.paramRef", problems)
        if ref.get("name") and ref.get("selector") is not None:
            problems.append("spec.paramRef: name and selector are mutually exclusive")
        elif not ref.get("name") and ref.get("selector") is None and not obj.api_version.endswith("/v1alpha1"):
            problems.append("spec.paramRef: one of name or selector is required")
        action = ref.get("parameterNotFoundAction") or "Deny"
        if action not in ("Allow", "Deny"):
            problems.append(f"spec.paramRef.parameterNotFoundAction must be Allow or Deny, not {action!r}")
        binding.param_ref = {**ref, "parameterNotFoundAction": action}
    if spec.get("matchResources") is not None:
        binding.match_resources = _mapping(spec.get("matchResources"), "spec.matchResources", problems)
    return binding
