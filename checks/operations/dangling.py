"""Policy objects that select or grant nothing: NetworkPolicies and RBAC (OPS-009, OPS-010)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from checks.context import CheckContext
from checks.k8s import selector_key, selector_matches
from checks.model import Result
from checks.operations.common import EXEMPT_BUILTIN
from checks.rbac_defaults import is_bootstrapped
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, pod_template


def _is_empty_selector(selector: dict[str, Any] | None) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


@check("OPS-009")
def dangling_network_policy(ctx: CheckContext) -> Iterator[Result]:
    """Warning when ``spec.podSelector`` matches no workload in the policy's namespace, or when a peer's
    ``podSelector`` / ``namespaceSelector`` matches nothing (peer podSelector without namespaceSelector is
    scoped to the policy's namespace; namespace labels include ``kubernetes.io/metadata.name``). Empty
    selectors select everything and never dangle (kube-linter does the same); ipBlock peers are ignored.
    """
    snap = ctx.snapshot
    ns_labels: dict[str | None, dict[str, str]] = {}
    for ns in snap.namespaces():
        obj = snap.get("Namespace", None, ns)
        ns_labels[ns] = {**(obj.labels if obj else {}), "kubernetes.io/metadata.name": ns}
    selected_namespaces: dict[str, list[str | None]] = {}
    # Whether a selector picks any workload asks for the first match only, once per namespace and
    # selector (Snapshot.first_workload): policies repeat their peers' selectors over the same pods.
    for np in snap.of_kind("NetworkPolicy"):
        problems: list[str] = []
        selector = np.spec.get("podSelector")
        if not _is_empty_selector(selector) and snap.first_workload(np.namespace, selector) is None:
            problems.append("podSelector matches no pod in its namespace")
        peers = [p for rule in np.spec.get("ingress") or [] for p in rule.get("from") or []]
        peers += [p for rule in np.spec.get("egress") or [] for p in rule.get("to") or []]
        for peer in peers:
            if "ipBlock" in peer:
                continue
            ns_selector = peer.get("namespaceSelector")
            pod_selector = peer.get("podSelector")
            if ns_selector is None:
                namespaces: list[str | None] = [np.namespace]
            elif _is_empty_selector(ns_selector):
                namespaces = list(ns_labels) or [np.namespace]
            else:
                key = selector_key(ns_selector)
                if key not in selected_namespaces:  # policies repeat a few selectors: match each once
                    selected_namespaces[key] = [
                        ns for ns, labels in ns_labels.items() if selector_matches(ns_selector, labels)
                    ]
                namespaces = selected_namespaces[key]
                if not namespaces:
                    problems.append(f"peer namespaceSelector {ns_selector} matches no namespace")
                    continue
            if (
                pod_selector is not None
                and not _is_empty_selector(pod_selector)
                and all(snap.first_workload(ns, pod_selector) is None for ns in namespaces)
            ):
                problems.append(f"peer podSelector {pod_selector} matches no pod")
        if problems:
            yield ctx.warn(np, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(np)


# Bootstrap roles every cluster has (kubectl get clusterroles,roles -A -l kubernetes.io/bootstrapping=rbac-defaults).
_BUILTIN_CLUSTER_ROLES = frozenset(
    {"cluster-admin", "admin", "edit", "view", "extension-apiserver-authentication-reader"}
)


def _builtin_role(name: str, obj: K8sObject | None = None) -> bool:
    """A role every cluster has. One the run holds is the cluster's own only when bootstrapped (a
    user may name a role ``system:something``: docs/catalogue.md#system-rbac); one it does not hold
    but a manifest binding names is presumed built in when its name says so."""
    if name in _BUILTIN_CLUSTER_ROLES:
        return True
    if obj is not None:
        return is_bootstrapped(obj)
    return name.startswith("system:")


class _RbacUse(NamedTuple):
    """What the bindings and pod templates of a snapshot refer to (built once per run of OPS-010)."""

    roles: set[tuple[str | None, str]]  # (namespace, Role name) bound by a RoleBinding
    cluster_roles: set[str]  # ClusterRole names bound anywhere
    sas: set[tuple[str | None, str]]  # ServiceAccounts named as binding subjects
    sa_groups: set[str | None]  # namespaces bound as system:serviceaccounts:<ns> ("*" for all)
    used_sas: set[tuple[str | None, str]]  # ServiceAccounts some pod template runs as


def _rbac_use(snap: Snapshot, bindings: list[K8sObject]) -> _RbacUse:
    use = _RbacUse(set(), set(), set(), set(), set())
    for b in bindings:
        ref = b.raw.get("roleRef") or {}
        if ref.get("kind") == "Role":
            use.roles.add((b.namespace, ref.get("name", "")))
        else:
            use.cluster_roles.add(ref.get("name", ""))
        for s in b.raw.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                use.sas.add((s.get("namespace") or b.namespace, s.get("name", "")))
            elif s.get("kind") == "Group" and str(s.get("name", "")).startswith("system:serviceaccounts"):
                use.sa_groups.add(s["name"].split(":", 2)[2] if s["name"].count(":") >= 2 else "*")
    for kind in WORKLOAD_KINDS:
        for obj in snap.of_kind(kind):
            pt = pod_template(obj)
            if pt is not None:
                spec = pt[0]
                account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
                use.used_sas.add((obj.namespace, account))
    return use


def _unused_rbac(ctx: CheckContext, use: _RbacUse) -> Iterator[Result]:
    """Roles, ClusterRoles and ServiceAccounts nothing binds or uses."""
    snap = ctx.snapshot
    for role in snap.of_kind("Role"):
        if _builtin_role(role.name, role):
            yield ctx.skip(role, EXEMPT_BUILTIN, "built-in role")
        elif (role.namespace, role.name) in use.roles:
            yield ctx.ok(role)
        else:
            yield ctx.warn(role, "Role is not referenced by any RoleBinding")
    for role in snap.of_kind("ClusterRole"):
        aggregated = role.raw.get("aggregationRule") or any(
            k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in role.labels
        )
        if _builtin_role(role.name, role):
            yield ctx.skip(role, EXEMPT_BUILTIN, "built-in role")
        elif role.name in use.cluster_roles or aggregated:
            yield ctx.ok(role)
        else:
            yield ctx.warn(role, "ClusterRole is bound nowhere and not aggregated")
    for sa in snap.of_kind("ServiceAccount"):
        key = (sa.namespace, sa.name)
        if sa.name == "default":
            yield ctx.skip(sa, EXEMPT_BUILTIN, "every namespace has a default ServiceAccount")
        elif key in use.used_sas or key in use.sas or sa.namespace in use.sa_groups or "*" in use.sa_groups:
            yield ctx.ok(sa)
        else:
            yield ctx.warn(sa, "ServiceAccount is used by no pod and bound by no RoleBinding/ClusterRoleBinding")


@check("OPS-010")
def rbac_hygiene(ctx: CheckContext) -> Iterator[Result]:
    """Bindings: failing when roleRef names a missing Role/ClusterRole (warning in manifests, where the role
    may live outside the run; built-in ``cluster-admin``/``admin``/``edit``/``view``/``system:*`` always
    exist); warning when a ServiceAccount subject is missing. Roles/ClusterRoles: warning when no binding
    references them and they are not aggregated into another role (the cluster's own are exempt: the
    bootstrapped ones, not any ``system:`` name). ServiceAccounts: warning when no pod template uses them
    and no binding names them (``default`` is exempt; ``system:serviceaccounts[:<ns>]`` group subjects
    count as binding them).
    """
    snap = ctx.snapshot
    bindings = [*snap.of_kind("RoleBinding"), *snap.of_kind("ClusterRoleBinding")]
    use = _rbac_use(snap, bindings)

    def find(kind: str, ns: str | None, name: str) -> bool:
        # A namespace-less manifest is applied into whatever namespace the binding names.
        return snap.get(kind, ns, name) is not None or (not ctx.live and snap.get(kind, None, name) is not None)

    for b in bindings:
        ref = b.raw.get("roleRef") or {}
        name = ref.get("name", "")
        if ref.get("kind") == "Role":
            exists = find("Role", b.namespace, name) or (not ctx.live and _builtin_role(name))
        else:
            exists = snap.get("ClusterRole", None, name) is not None or (not ctx.live and _builtin_role(name))
        missing_sas = [
            f"{s.get('namespace') or b.namespace}/{s.get('name')}"
            for s in b.raw.get("subjects") or []
            if s.get("kind") == "ServiceAccount" and s.get("name") != "default"
            and not find("ServiceAccount", s.get("namespace") or b.namespace, s.get("name", ""))
        ]
        sa_text = f"subject ServiceAccount(s) not found: {', '.join(missing_sas)}" if missing_sas else ""
        if not exists:
            text = f"roleRef {ref.get('kind')}/{name} does not exist"
            if not ctx.live:
                text += " in the run"
            msg = "; ".join(x for x in (text, sa_text) if x)
            yield (ctx.fail(b, msg) if ctx.live else ctx.warn(b, msg))
        elif missing_sas:
            yield ctx.warn(b, sa_text, details=missing_sas)
        else:
            yield ctx.ok(b)
    yield from _unused_rbac(ctx, use)
