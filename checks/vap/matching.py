"""Which existing objects a policy and its binding match, as the API server decides it at admission.

A policy's ``spec.matchConstraints`` and a binding's ``spec.matchResources`` have the same shape
and are applied the same way (an object must match both; a binding without ``matchResources``
keeps everything the policy matches; a ``matchResources`` without ``resourceRules`` constrains
only by its selectors and exclusions):

* ``namespaceSelector`` against the labels of the object's Namespace (of the Namespace itself for
  a Namespace; a cluster-scoped object always passes it). Every namespace carries the label
  ``kubernetes.io/metadata.name: <name>``, which the API server sets: kwa adds it, and takes a
  namespace the snapshot does not hold as having that label only;
* ``objectSelector`` against the object's labels;
* ``excludeResourceRules``: an object any of them matches is out;
* ``resourceRules``: apiGroups, apiVersions, resources (``*``, ``pods``, ``pods/*``; an existing
  object is the main resource, never a subresource), scope (``*``, ``Cluster``, ``Namespaced``),
  ``resourceNames`` and operations. An existing object is judged as if it were written again:
  a rule matches when its operations include ``CREATE``, ``UPDATE`` or ``*``; the request's
  operation is ``CREATE`` when the rule allows it, else ``UPDATE``. A rule for ``DELETE`` or
  ``CONNECT`` only never matches an existing object;
* ``matchPolicy: Equivalent`` (the default) also matches the same resource under another version
  of its group, or under the group it moved from (``extensions`` deployments are ``apps`` ones);
  ``Exact`` needs the object's own group and version.

The admission configuration resources themselves (webhook configurations, admission policies and
their bindings) are never subject to admission policies, as in the API server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.k8s import selector_matches
from checks.snapshot import K8sObject, Snapshot
from checks.vap.resources import Resource

NAME_LABEL = "kubernetes.io/metadata.name"
# Resources that moved between groups: the API server treats them as equivalent.
_MOVED = {
    ("extensions", "deployments"): ("apps",),
    ("extensions", "daemonsets"): ("apps",),
    ("extensions", "replicasets"): ("apps",),
    ("extensions", "ingresses"): ("networking.k8s.io",),
    ("extensions", "networkpolicies"): ("networking.k8s.io",),
    ("apps", "deployments"): ("extensions",),
    ("apps", "daemonsets"): ("extensions",),
    ("apps", "replicasets"): ("extensions",),
    ("networking.k8s.io", "ingresses"): ("extensions",),
    ("networking.k8s.io", "networkpolicies"): ("extensions",),
}
BOTH = frozenset({"CREATE", "UPDATE"})
NONE: frozenset[str] = frozenset()
_EXEMPT = frozenset(
    {
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
    }
)


@dataclass(frozen=True, slots=True)
class Subject:
    """One existing object as an admission request would present it."""

    obj: K8sObject
    resource: Resource
    namespace: str  # "" for cluster-scoped objects; a Namespace's own name for a Namespace

    @property
    def name(self) -> str:
        return self.obj.name


def namespace_labels(snapshot: Snapshot, name: str) -> dict[str, str]:
    """The labels the API server would see on Namespace ``name`` (see the module docstring)."""
    found = snapshot.get("Namespace", None, name)
    labels = dict(found.labels) if found is not None and isinstance(found.labels, dict) else {}
    labels.setdefault(NAME_LABEL, name)
    return {str(k): str(v) for k, v in labels.items()}


def exempt(resource: Resource) -> bool:
    return resource.group == "admissionregistration.k8s.io" and resource.resource in _EXEMPT


def matches(
    criteria: dict[str, Any] | None,
    subject: Subject,
    snapshot: Snapshot,
    *,
    need_rules: bool,
    memo: dict[Any, Any] | None = None,
) -> frozenset[str]:
    """The operations (``CREATE``, ``UPDATE``) under which ``criteria`` match ``subject``; empty: no match.

    ``criteria`` is a MatchResources mapping; None matches everything (a binding without
    ``matchResources``). ``need_rules``: a policy's constraints match nothing without rules, a
    binding's match everything its policy does. ``memo``: a dict kept for one pass over the
    snapshot, where answers that depend only on the namespace or on the resource are remembered
    (10k objects in 100 namespaces ask 100 questions, not 10k).
    """
    if criteria is None:
        return BOTH
    memo = {} if memo is None else memo
    selector = criteria.get("namespaceSelector")
    if selector:
        key = (id(selector), subject.namespace, subject.resource.resource == "namespaces" and subject.name)
        selected = memo.get(key)
        if selected is None:
            selected = memo[key] = _namespace_selected(selector, subject, snapshot)
        if not selected:
            return NONE
    selector = criteria.get("objectSelector")
    if selector is not None and not selector_matches(selector, _labels(subject.obj)):
        return NONE
    equivalent = criteria.get("matchPolicy", "Equivalent") != "Exact"
    if _cached_rules(criteria.get("excludeResourceRules"), subject, equivalent, memo):
        return NONE
    rules = criteria.get("resourceRules")
    if not rules:
        return NONE if need_rules else BOTH
    return _cached_rules(rules, subject, equivalent, memo)


def _cached_rules(rules: Any, subject: Subject, equivalent: bool, memo: dict[Any, Any]) -> frozenset[str]:
    if not rules:
        return NONE
    named = memo.get(("named", id(rules)))
    if named is None:  # rules with resourceNames depend on the object's name: never remembered
        named = memo[("named", id(rules))] = any(isinstance(r, dict) and r.get("resourceNames") for r in rules)
    if named:
        return _rules_operations(rules, subject, equivalent)
    key = (id(rules), subject.resource, bool(subject.namespace), equivalent)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _rules_operations(rules, subject, equivalent)
    return found  # type: ignore[no-any-return]


def kind_may_match(criteria: dict[str, Any] | None, resource: Resource) -> bool:
    """Whether some object of this resource could match the rules (selectors and names ignored)."""
    if criteria is None:
        return True
    for rule in criteria.get("resourceRules") or []:
        if isinstance(rule, dict) and _rule_resource(rule, resource, equivalent=True) and _operations(rule):
            return True
    return False


def _labels(obj: K8sObject) -> dict[str, str]:
    labels = obj.labels if isinstance(obj.labels, dict) else {}
    return {str(k): str(v) for k, v in labels.items()}


def _namespace_selected(selector: Any, subject: Subject, snapshot: Snapshot) -> bool:
    if not selector:  # unset or {}: every namespace
        return True
    if not subject.namespace:
        return True  # a cluster-scoped object (not a Namespace) is never exempted by it
    if subject.resource.resource == "namespaces" and subject.resource.group == "":
        labels = _labels(subject.obj)
        labels.setdefault(NAME_LABEL, subject.name)
    else:
        labels = namespace_labels(snapshot, subject.namespace)
    return selector_matches(selector, labels)


def _rules_operations(rules: Any, subject: Subject, equivalent: bool) -> frozenset[str]:
    if exempt(subject.resource):
        return NONE
    found: set[str] = set()
    for rule in rules or []:
        if not isinstance(rule, dict) or not _scope(rule, subject):
            continue
        if not _rule_resource(rule, subject.resource, equivalent):
            continue
        names = rule.get("resourceNames") or []
        if names and subject.name not in names:
            continue
        found |= _operations(rule)
    return frozenset(found)


def _operations(rule: dict[str, Any]) -> frozenset[str]:
    ops = rule.get("operations") or []
    return BOTH if "*" in ops else BOTH & frozenset(o for o in ops if isinstance(o, str))


def operation(allowed: frozenset[str]) -> str:
    """The operation an existing object is judged under: CREATE when allowed, else UPDATE."""
    return "CREATE" if "CREATE" in allowed else "UPDATE"


def _scope(rule: dict[str, Any], subject: Subject) -> bool:
    scope = rule.get("scope") or "*"
    is_namespace = subject.resource.resource == "namespaces" and subject.resource.group == ""
    if scope == "Namespaced":
        return bool(subject.namespace) and not is_namespace
    if scope == "Cluster":
        return is_namespace or not subject.namespace
    return True


def _rule_resource(rule: dict[str, Any], resource: Resource, equivalent: bool) -> bool:
    if not _resource_listed(rule.get("resources") or [], resource.resource):
        return False
    groups = rule.get("apiGroups") or []
    versions = rule.get("apiVersions") or []
    if _listed(groups, resource.group) and _listed(versions, resource.version):
        return True
    if not equivalent:
        return False
    # Equivalent: the same resource served under another version, or under the group it moved from.
    candidates = (resource.group, *_MOVED.get((resource.group, resource.resource), ()))
    return any(_listed(groups, g) for g in candidates) and bool(versions)


def _listed(values: list[Any], value: str) -> bool:
    return "*" in values or value in values


def _resource_listed(resources: list[Any], resource: str) -> bool:
    for entry in resources:
        if not isinstance(entry, str):
            continue
        main, _, sub = entry.partition("/")
        # An existing object is the main resource (subresource ""): "pods", "*", "pods/*" and
        # "*/*" match it; "pods/status" does not.
        if (main == "*" or main == resource) and (sub in ("", "*")):
            return True
    return False
