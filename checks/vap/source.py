"""The cluster's own admission policies as kwa checks: one ``VAP-<policy name>`` per bound policy.

:func:`checks_for` reads the snapshot's ValidatingAdmissionPolicy and
ValidatingAdmissionPolicyBinding objects and returns one check definition per policy that some
binding names (an unbound policy enforces nothing, so it is not a check). A binding that names a
policy the snapshot does not hold becomes a check of that name too, whose one verdict, on the
binding, says so. Each check's function evaluates the policy against every object its
``matchConstraints`` and a binding's ``matchResources`` match (:mod:`checks.vap.matching`), once
per binding, and yields one result per object and binding (:mod:`checks.vap.evaluate`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from checks.context import CheckContext
from checks.dynamic import add_check_source
from checks.model import CheckDefinition, Mode, Pillar, Result, Severity, SkipReason
from checks.positions import field_position
from checks.snapshot import K8sObject, Snapshot, register_index
from checks.vap.cel import compile_policy
from checks.vap.evaluate import Judge
from checks.vap.matching import Subject, kind_may_match, matches, operation
from checks.vap.params import resolve
from checks.vap.policies import BINDING_KIND, POLICY_KIND, Binding, Policy, read_all
from checks.vap.resources import Resource, ResourceTable

PREFIX = "VAP-"
DOCS = "docs/admission-policies.md"
REMEDIATION = (
    "Change each object the policy rejects so that it satisfies the policy (the message says what it "
    "requires), or, if the object is right, change the policy, its parameters or its binding's "
    "matchResources so that the cluster would admit it."
)


@register_index("vap")
def _index(snapshot: Snapshot) -> tuple[ResourceTable, list[Subject]] | None:
    """Every object with its API resource, built once per snapshot that holds an admission policy."""
    if not snapshot.of_kind(POLICY_KIND) and not snapshot.of_kind(BINDING_KIND):
        return None
    table = ResourceTable(snapshot)
    subjects = []
    for obj in snapshot.objects:
        resource = table.resource_of(obj)
        if resource.resource == "namespaces" and resource.group == "":
            namespace = obj.name
        else:
            namespace = (obj.namespace or "") if resource.namespaced else ""
        subjects.append(Subject(obj, resource, namespace))
    return table, subjects


class PolicySource:
    """The check source (checks.dynamic) that turns the snapshot's bound policies into checks."""

    prefix = "VAP"

    def __init__(self) -> None:
        self.problems: list[str] = []

    def checks_for(self, snapshot: Snapshot) -> list[CheckDefinition]:
        # Read by checks.dynamic after each call: a policy nothing binds is worth a line, not a check.
        self.problems = [
            f"ValidatingAdmissionPolicy '{name}' is not audited: no ValidatingAdmissionPolicyBinding names it, "
            "so it enforces nothing"
            for name in unbound(snapshot)
        ]
        return checks_for(snapshot)


SOURCE = PolicySource()
add_check_source(SOURCE)


def check_id(policy_name: str) -> str:
    return PREFIX + policy_name


def checks_for(snapshot: Snapshot) -> list[CheckDefinition]:
    """One check per bound (or missing) policy of the snapshot, in policy-name order."""
    if not snapshot.of_kind(BINDING_KIND):
        return []
    policies, bindings = read_all(snapshot)
    by_policy: dict[str, list[Binding]] = defaultdict(list)
    for binding in bindings:
        if binding.policy_name:
            by_policy[binding.policy_name].append(binding)
    table = ResourceTable(snapshot)
    kinds = _kinds(snapshot)
    return [_definition(name, policies.get(name), by_policy[name], kinds, table) for name in sorted(by_policy)]


def unbound(snapshot: Snapshot) -> list[str]:
    """Names of the snapshot's policies no binding names (not checks: they enforce nothing)."""
    if not snapshot.of_kind(POLICY_KIND):
        return []
    policies, bindings = read_all(snapshot)
    named = {b.policy_name for b in bindings}
    return sorted(n for n in policies if n not in named)


def _definition(
    name: str, policy: Policy | None, bindings: list[Binding], kinds: list[K8sObject], table: ResourceTable
) -> CheckDefinition:
    denies = any(b.denies and not b.problems for b in bindings)
    names = ", ".join(b.name for b in bindings)
    if policy is None:
        description = (
            f"Binding(s) {names} name the ValidatingAdmissionPolicy {name!r}, which is not in the assessed "
            "objects: the cluster enforces nothing through them."
        )
        requires: tuple[str, ...] = (BINDING_KIND,)
    else:
        description = (policy.description + " " if policy.description else "") + (
            f"The cluster's ValidatingAdmissionPolicy {name!r} (bound by {names}), evaluated against the "
            "existing objects it matches: which of them it would reject, or warn about, if they were "
            "written again today."
        )
        requires = _requires(policy, kinds, table)
    return CheckDefinition(
        id=check_id(name),
        pillar=Pillar.SECURITY,
        name=f"Admission policy {name}",
        # A binding that denies makes a failed validation a rejection; Warn and Audit only report it.
        severity=Severity.HIGH if denies else Severity.MEDIUM,
        description=description,
        remediation=REMEDIATION,
        mode=Mode.MANIFEST,
        func=_check_function(name),
        requires=requires,
        docs_url=DOCS,
        origin=f"vap:{name}",
    )


def _kinds(snapshot: Snapshot) -> list[K8sObject]:
    """The first object of each (apiVersion, kind) present or quarantined in the snapshot: found
    once for all the policies (each scanning every object was policies x objects, 7 s for 50
    policies at 400,000 objects)."""
    first: dict[tuple[str, str], K8sObject] = {}
    for obj in snapshot.objects:
        first.setdefault((obj.api_version, obj.kind), obj)
    for quarantined in snapshot.malformed:
        first.setdefault((quarantined.obj.api_version, quarantined.obj.kind), quarantined.obj)
    return list(first.values())


def _requires(policy: Policy, kinds_present: list[K8sObject], table: ResourceTable) -> tuple[str, ...]:
    """The kinds present (or quarantined) in the snapshot that the policy's rules can match."""
    kinds: set[str] = {POLICY_KIND, BINDING_KIND}
    for obj in kinds_present:
        if kind_may_match(policy.match_constraints, table.resource_of(obj)):
            kinds.add(obj.kind)
    if policy.param_kind is not None:
        kinds.add(policy.param_kind[1])
    return tuple(sorted(kinds))


def _check_function(name: str) -> Callable[[CheckContext], Iterator[Result]]:
    def audit(ctx: CheckContext) -> Iterator[Result]:
        yield from evaluate_policy(ctx, name)

    audit.__qualname__ = audit.__name__ = f"vap_{name}"
    audit.__module__ = __name__
    audit.__doc__ = f"ValidatingAdmissionPolicy {name} audited against the snapshot's objects."
    return audit


def evaluate_policy(ctx: CheckContext, name: str) -> Iterator[Result]:
    """The results of policy ``name`` and its bindings (read again from the check's own snapshot)."""
    snapshot = ctx.snapshot
    policies, all_bindings = read_all(snapshot)
    bindings = [b for b in all_bindings if b.policy_name == name]
    policy = policies.get(name)
    if policy is None:
        broken = [m for m in snapshot.malformed if m.obj.kind == POLICY_KIND and m.obj.name == name]
        if broken:
            why = f"which is malformed and was not assessed ({broken[0].message()})"
        else:
            why = "which is not in the assessed objects: the cluster enforces nothing through this binding"
        for b in bindings:
            text = f"binding '{b.name}' names ValidatingAdmissionPolicy '{name}', {why}"
            details = {"policy": name, "binding": b.name}
            yield _located(ctx.error(b.obj, text, field="spec.policyName", details=details), b.obj)
        return
    if policy.problems:
        yield ctx.error(
            policy.obj,
            f"policy '{name}' is invalid: " + "; ".join(policy.problems),
            details={"policy": name, "problems": policy.problems},
        )
        return
    usable = []
    for b in bindings:
        if b.problems:
            yield ctx.error(
                b.obj,
                f"binding '{b.name}' is invalid: " + "; ".join(b.problems),
                details={"policy": name, "binding": b.name, "problems": b.problems},
            )
        else:
            usable.append(b)
    compiled = compile_policy(policy)
    for path, problem in compiled.problems.items():
        yield _compile_error(ctx, policy, path, problem, compiled.positions.get(path))
    index = snapshot.index("vap")
    if index is None or not usable:
        return
    table, subjects = index
    judge = Judge(policy, compiled, snapshot)
    judged = 0
    may_match: dict[Resource, bool] = {}
    memo: dict[object, object] = {}  # matching answers that hold for a whole namespace or resource
    for subject in subjects:
        res = subject.resource
        if res not in may_match:
            may_match[res] = kind_may_match(policy.match_constraints, res)
        if not may_match[res]:
            continue
        by_policy = matches(policy.match_constraints, subject, snapshot, need_rules=True, memo=memo)
        if not by_policy:
            continue
        for b in usable:
            allowed = by_policy & matches(b.match_resources, subject, snapshot, need_rules=False, memo=memo)
            if not allowed:
                continue
            op = operation(allowed)
            verdict = judge.judge(b, subject, op, resolve(policy, b, subject, snapshot, table))
            judged += 1
            if verdict is None:
                yield ctx.skip(
                    subject.obj,
                    SkipReason.NOT_APPLICABLE,
                    f"binding '{b.name}': the policy's matchConditions leave it out",
                    details={"policy": name, "binding": b.name},
                )
                continue
            yield ctx.result(
                subject.obj,
                verdict.status,
                verdict.message,
                details=verdict.details,
                reason=verdict.reason,
                field=verdict.field,
            )
    if not judged:
        yield ctx.skip(
            None, SkipReason.NOT_APPLICABLE, f"no assessed object matches policy '{name}' and its binding(s)"
        )


def _compile_error(
    ctx: CheckContext, policy: Policy, path: str, problem: str, position: tuple[int | None, int | None] | None
) -> Result:
    result = ctx.error(
        policy.obj,
        f"policy '{policy.name}': {path} does not compile in kwa's CEL engine: {problem} (the API server "
        "refuses a policy whose expressions do not compile, so either this policy was never admitted or it "
        "uses CEL that kwa's engine does not support; the objects it matches cannot be judged on it)",
        field=path,
        details={"policy": policy.name, "field": path, "problem": problem},
    )
    _located(result, policy.obj)
    if position is not None:
        result.details["line"], result.details["column"] = position
    return result


def _located(result: Result, obj: K8sObject) -> Result:
    """An error row about a policy's or binding's field also gets that field's line in the manifest."""
    found = field_position(obj.place, result.field_path)
    if found is not None:
        result.field_line, result.field_column = found
    return result


__all__ = ["PREFIX", "SOURCE", "PolicySource", "check_id", "checks_for", "evaluate_policy", "unbound"]
