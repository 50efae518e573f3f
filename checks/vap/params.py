"""A binding's ``paramRef`` resolved from the snapshot, as the API server resolves it per request.

* no ``paramKind`` on the policy, or no ``paramRef`` on the binding: one evaluation with
  ``params`` null;
* ``paramRef.name``: that object (in ``paramRef.namespace``, else the object's own namespace when
  the param kind is namespaced); ``paramRef.selector``: every object of the kind it selects there,
  each evaluated in turn (the object must pass with all of them);
* nothing found: ``parameterNotFoundAction: Allow`` admits the object, ``Deny`` (the default) is
  an error the policy's ``failurePolicy`` decides;
* a configuration the API server refuses at request time (a namespace on a cluster-scoped param
  kind; a namespaced param kind without a namespace for a cluster-scoped object) is such an error too.

What kwa cannot know is said as such, never taken as "not found": the data of a Secret (kwa never
reads it), a param kind a live run does not list, or a kind whose listing failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.k8s import selector_matches
from checks.snapshot import K8sObject, Snapshot
from checks.vap.matching import Subject
from checks.vap.policies import Binding, Policy
from checks.vap.resources import ResourceTable, split_api_version


@dataclass
class Params:
    """The params to evaluate with (``[None]``: without params), or why there are none."""

    objects: list[K8sObject | None] = field(default_factory=list)
    # An error the cluster would hit (subject to failurePolicy), e.g. not found with Deny.
    cluster_error: str | None = None
    # Something kwa cannot see: the verdict is an error whatever the failurePolicy.
    unknown: str | None = None


def resolve(policy: Policy, binding: Binding, subject: Subject, snapshot: Snapshot, table: ResourceTable) -> Params:
    if policy.param_kind is None or binding.param_ref is None:
        return Params([None])
    api_version, kind = policy.param_kind
    group, _ = split_api_version(api_version)
    label = f"{kind} ({api_version})"
    if group == "" and kind == "Secret":
        return Params(unknown=f"its params are Secrets, whose data kwa never reads ({label})")
    if kind in snapshot.unavailable:
        return Params(unknown=f"its param kind {label} could not be listed: {snapshot.unavailable[kind]}")
    if snapshot.is_live and not snapshot.of_kind(kind) and not _listed_live(kind):
        return Params(unknown=f"kwa does not read {label} objects from a live cluster, so its params are unknown")
    ref = binding.param_ref
    namespaced = table.namespaced(group, kind)
    namespace = ref.get("namespace") or ""
    if not namespaced and namespace:
        return Params(cluster_error=f"paramRef.namespace must not be set for the cluster-scoped paramKind {label}")
    if namespaced and not namespace:
        namespace = subject.namespace if subject.resource.resource != "namespaces" else ""
        if not namespace:
            return Params(
                cluster_error="cannot use a namespaced paramRef without paramRef.namespace in a binding that matches "
                "cluster-scoped resources"
            )
    candidates = [
        o
        for o in snapshot.of_kind(kind)
        if split_api_version(o.api_version)[0] == group and (not namespaced or o.namespace == namespace)
    ]
    name = ref.get("name")
    if name:
        found: list[K8sObject | None] = [o for o in candidates if o.name == name][:1]
        where = f"{label} {namespace + '/' if namespaced else ''}{name}"
    else:
        selector = ref.get("selector") if isinstance(ref.get("selector"), dict) else {}
        found = [o for o in candidates if selector_matches(selector, o.labels if isinstance(o.labels, dict) else {})]
        where = f"{label} objects{' in ' + namespace if namespaced else ''} selected by paramRef.selector"
    if found:
        return Params(found)
    if ref.get("parameterNotFoundAction") == "Allow":
        return Params([])
    return Params(cluster_error=f"no params found ({where}) for a binding with parameterNotFoundAction Deny")


def _listed_live(kind: str) -> bool:
    from checks.sources.live.resources import RESOURCES

    return kind in RESOURCES


def param_label(param: K8sObject | None) -> str | None:
    return None if param is None else param.ref
