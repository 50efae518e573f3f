"""RBAC: wildcard rules, cluster-admin, high-risk permissions, broad subjects (SEC-027 to SEC-030)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.registry import check
from checks.security.common import (
    BINDINGS,
    _role_ref,
    _subject_label,
    _subjects,
    is_system_object,
    is_system_role_ref,
    is_system_subject_name,
)
from checks.snapshot import K8sObject, Snapshot

ROLES = ("Role", "ClusterRole")


def _non_system_subjects(binding: K8sObject) -> list[str]:
    return [
        _subject_label(binding, s) for s in _subjects(binding) if not is_system_subject_name(str(s.get("name") or ""))
    ]


def _resolve_role(snap: Snapshot, binding: K8sObject) -> K8sObject | None:
    ref = _role_ref(binding)
    kind, name = ref.get("kind") or "ClusterRole", ref.get("name") or ""
    if kind == "Role":
        return snap.get("Role", binding.namespace, name)
    return snap.get("ClusterRole", None, name)


def _rules(role: K8sObject) -> list[dict[str, Any]]:
    return [r for r in role.raw.get("rules") or [] if isinstance(r, dict)]


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


_BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit"})


def _builtin_role(role: K8sObject) -> bool:
    if is_system_object(role):
        return True
    if role.kind != "ClusterRole":
        return False
    return role.name in _BUILTIN_CLUSTER_ROLES or bool(role.raw.get("aggregationRule"))


@check("SEC-027")
def wildcard_rbac(ctx: CheckContext) -> Iterator[Result]:
    """Inspect every rule of every Role/ClusterRole for ``*``.

    Rule (docs/catalogue.md#sec-027): failing when any rule has ``*`` in verbs or resources; a rule with both
    is the critical case, noted in the message and ``details[].critical`` (severity is per check);
    warning when ``*`` appears only in apiGroups; skipped(exempt:built-in-role) for ``cluster-admin``,
    ``admin``, ``edit``, aggregated ClusterRoles and the control plane's ``system:`` roles: those
    Kubernetes bootstrapped (the label ``kubernetes.io/bootstrapping: rbac-defaults`` or the
    annotation ``rbac.authorization.kubernetes.io/autoupdate``); a ``system:`` name alone is not
    enough. All rules are inspected, unlike Checkov's rules[0].
    """
    for role in ctx.snapshot.of_kind(*ROLES):
        if _builtin_role(role):
            yield ctx.skip(role, SkipReason.EXEMPT_PREFIX + "built-in-role", "built-in or aggregated role")
            continue
        bad: list[dict[str, Any]] = []
        group_only: list[dict[str, Any]] = []
        for i, rule in enumerate(_rules(role)):
            verbs, resources = _as_list(rule.get("verbs")), _as_list(rule.get("resources"))
            groups = _as_list(rule.get("apiGroups"))
            entry = {"rule": i, "apiGroups": groups, "resources": resources, "verbs": verbs}
            if "*" in verbs or "*" in resources:
                entry["critical"] = "*" in verbs and "*" in resources
                bad.append(entry)
            elif "*" in groups:
                group_only.append(entry)
        if bad:
            critical = [e["rule"] for e in bad if e["critical"]]
            msg = f"wildcard in verbs or resources in rule(s) {', '.join(str(e['rule']) for e in bad)}"
            if critical:
                msg += f"; critical: rule(s) {', '.join(map(str, critical))} grant * verbs on * resources"
            yield ctx.fail(role, msg, details=bad + group_only)
        elif group_only:
            yield ctx.warn(
                role,
                f"wildcard apiGroups in rule(s) {', '.join(str(e['rule']) for e in group_only)}",
                details=group_only,
            )
        else:
            yield ctx.ok(role)


def _group_label(group: str) -> str:
    return "'' (core)" if group == "" else repr(group)


def _wildcard_grant(role: K8sObject) -> tuple[bool, list[str]]:
    """(cluster-admin equivalent, API groups of narrower all-verbs-on-all-resources rules).

    Only ``*`` verbs on ``*`` resources in ``*`` API groups, with no resourceNames, reaches every
    object of the API; the same wildcards in listed groups stop at those groups' resources.
    """
    groups: list[str] = []
    for rule in _rules(role):
        if "*" not in _as_list(rule.get("verbs")) or "*" not in _as_list(rule.get("resources")):
            continue
        if rule.get("resourceNames"):
            continue
        rule_groups = _as_list(rule.get("apiGroups"))
        if "*" in rule_groups:
            return True, []
        groups += [g for g in rule_groups if g not in groups]
    return False, groups


@check("SEC-028")
def cluster_admin_binding(ctx: CheckContext) -> Iterator[Result]:
    """Fail bindings that hand cluster-admin-equivalent roles to subjects that are not Kubernetes components.

    Rule (docs/catalogue.md#sec-028): a (Cluster)RoleBinding whose roleRef is ClusterRole ``cluster-admin``,
    or resolves to a (Cluster)Role with a rule of ``*`` verbs on ``*`` resources in ``*`` apiGroups
    (no resourceNames), fails for any subject that is not a Kubernetes component: users and groups
    under ``system:`` are Kubernetes' own (so kubeadm's cluster-admin → Group system:masters binding
    passes), except ServiceAccount identities (User ``system:serviceaccount:…``, Group
    ``system:serviceaccounts…``) and the everyone groups (``system:authenticated``,
    ``system:unauthenticated``, ``system:anonymous``); ServiceAccount subjects are never system.
    A rule of ``*`` verbs on ``*`` resources in listed apiGroups only (say the core group ``""``) is
    broad but not cluster-admin: a warning that names the groups (SEC-027 fails the role, SEC-029 the
    risky permissions it includes). Every other binding passes.
    """
    snap = ctx.snapshot
    for binding in snap.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role = _resolve_role(snap, binding)
        admin, groups = _wildcard_grant(role) if role is not None else (False, [])
        if (ref.get("kind") or "ClusterRole") == "ClusterRole" and ref.get("name") == "cluster-admin":
            admin = True
        if not admin and not groups:
            yield ctx.ok(binding)
            continue
        offenders = _non_system_subjects(binding)
        label = f"{ref.get('kind', 'ClusterRole')} {ref.get('name', '?')}"
        if not offenders:
            held = "cluster-admin" if admin else "a broad wildcard role"
            yield ctx.ok(binding, f"{held} held by system subjects only")
        elif admin:
            yield ctx.fail(
                binding, f"grants {label} (cluster-admin equivalent) to {', '.join(offenders)}", details=offenders
            )
        else:
            shown = ", ".join(_group_label(g) for g in groups)
            yield ctx.warn(
                binding,
                f"grants {label} to {', '.join(offenders)}: every verb on every resource of API group(s) {shown}; "
                f"broad, but not cluster-admin (apiGroups limited to {shown})",
                details={"subjects": offenders, "apiGroups": groups},
            )


_WRITE = frozenset({"create", "update", "patch", "delete", "deletecollection"})


_WORKLOAD_RESOURCES = (
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("extensions", "deployments"),
    ("extensions", "daemonsets"),
    ("extensions", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)


_HIGH_RISK: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[str] | None], ...] = (
    ("pods/exec", (("", "pods/exec"),), frozenset({"create", "get"})),
    ("pods/attach", (("", "pods/attach"),), frozenset({"create", "get"})),
    ("pods/portforward", (("", "pods/portforward"),), frozenset({"create", "get"})),
    ("create pods or workloads", _WORKLOAD_RESOURCES, frozenset({"create"})),
    (
        "bind/escalate roles",
        (("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles")),
        frozenset({"bind", "escalate"}),
    ),
    (
        "impersonate",
        (
            ("", "users"),
            ("", "groups"),
            ("", "serviceaccounts"),
            ("authentication.k8s.io", "userextras"),
            ("authentication.k8s.io", "uids"),
        ),
        frozenset({"impersonate"}),
    ),
    ("nodes/proxy", (("", "nodes/proxy"),), None),
    ("serviceaccounts/token create", (("", "serviceaccounts/token"),), frozenset({"create"})),
    (
        "admission webhook write",
        (
            ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ),
        _WRITE,
    ),
    (
        "certificatesigningrequests/approval update",
        (("certificates.k8s.io", "certificatesigningrequests/approval"),),
        frozenset({"update", "patch"}),
    ),
    ("persistentvolumes create", (("", "persistentvolumes"),), frozenset({"create"})),
)


_SECRET_READ = frozenset({"get", "list", "watch"})


def _resource_matches(rule_resource: str, wanted: str) -> bool:
    if rule_resource in ("*", wanted):
        return True
    # RBAC supports "*/subresource" for one subresource of every resource.
    if rule_resource.startswith("*/") and "/" in wanted:
        return wanted.split("/", 1)[1] == rule_resource[2:]
    return False


def _rule_grants(rule: dict[str, Any], targets: Iterable[tuple[str, str]], verbs: frozenset[str] | None) -> bool:
    rule_verbs = set(_as_list(rule.get("verbs")))
    rule_groups = set(_as_list(rule.get("apiGroups")))
    rule_resources = _as_list(rule.get("resources"))
    if not rule_verbs:
        return False
    if verbs is not None and "*" not in rule_verbs and not (rule_verbs & verbs):
        return False
    # A resourceNames restriction never authorises create (the name is not known yet).
    if rule.get("resourceNames") and verbs is not None and "*" not in rule_verbs and rule_verbs & verbs <= {"create"}:
        return False
    for group, resource in targets:
        if ("*" in rule_groups or group in rule_groups) and any(_resource_matches(r, resource) for r in rule_resources):
            return True
    return False


def _high_risk_grants(role: K8sObject) -> tuple[list[str], bool]:
    """(high-risk permission labels, whether the role reads secrets) for a role's rules."""
    found: list[str] = []
    reads_secrets = False
    for rule in _rules(role):
        for label, targets, verbs in _HIGH_RISK:
            if label not in found and _rule_grants(rule, targets, verbs):
                found.append(label)
        if _rule_grants(rule, (("", "secrets"),), _SECRET_READ):
            reads_secrets = True
    return found, reads_secrets


@check("SEC-029")
def high_risk_rbac(ctx: CheckContext) -> Iterator[Result]:
    """Report each binding (a grant) that gives non-system subjects a high-risk permission.

    Rule (docs/catalogue.md#sec-029), one result per (Cluster)RoleBinding:
    - skipped(exempt:system-role) when the bound role is a system role, the predicate SEC-027 uses
      too: named ``system:`` *and* bootstrapped (label ``kubernetes.io/bootstrapping: rbac-defaults``
      or annotation ``rbac.authorization.kubernetes.io/autoupdate``), never the name alone; on
      manifests a ``system:`` role the run does not hold is presumed to be the cluster's own. The
      bootstrapped user-facing roles (``cluster-admin``, ``admin``, ``edit``, ``view``) are judged;
    - failing when the resolved role grants any of: secrets get/list/watch cluster-wide (through a
      ClusterRoleBinding), pods/exec|attach|portforward (create/get), create pods or workload kinds,
      bind/escalate roles, impersonate, nodes/proxy, serviceaccounts/token create, admission webhook
      configuration writes, certificatesigningrequests/approval update, persistentvolumes create —
      and at least one subject is not a Kubernetes component (the subject rule of SEC-028:
      ServiceAccounts, ``system:serviceaccount(s)…`` names and the everyone groups count as
      non-system);
    - warning when the only finding is secrets read through a RoleBinding (namespace-scoped);
    - passing otherwise (including grants held only by system subjects).
    Interpretation: a binding whose role is not in the run cannot be resolved; that is a warning in
    manifest mode (the role may live elsewhere) and passing live (a dangling binding grants nothing).
    """
    snap = ctx.snapshot
    cache: dict[tuple[str, str | None, str], tuple[list[str], bool]] = {}
    for binding in snap.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role_name = str(ref.get("name") or "")
        role = _resolve_role(snap, binding)
        if is_system_role_ref(role, ref, ctx.live):
            yield ctx.skip(binding, SkipReason.EXEMPT_PREFIX + "system-role", f"binds system role {role_name}")
            continue
        subjects = _non_system_subjects(binding)
        if not subjects:
            yield ctx.ok(binding, "bound to system subjects only")
            continue
        if role is None:
            if ctx.live:
                yield ctx.ok(binding, f"{ref.get('kind', 'role')} {role_name} does not exist")
            else:
                yield ctx.warn(
                    binding,
                    f"{ref.get('kind', 'role')} {role_name} is not in these manifests; permissions cannot be evaluated",
                )
            continue
        key = (role.kind, role.namespace, role.name)
        if key not in cache:
            cache[key] = _high_risk_grants(role)
        risky, reads_secrets = cache[key]
        risky = list(risky)
        cluster_wide = binding.kind == "ClusterRoleBinding"
        if reads_secrets and cluster_wide:
            risky.insert(0, "secrets read cluster-wide")
        details = {"role": f"{role.kind}/{role.name}", "subjects": subjects, "permissions": risky}
        if risky:
            yield ctx.fail(
                binding, f"{role.kind} {role.name} grants {', '.join(risky)} to {', '.join(subjects)}", details=details
            )
        elif reads_secrets:
            details["permissions"] = ["secrets read (namespace-scoped)"]
            yield ctx.warn(
                binding,
                f"{role.kind} {role.name} grants secrets read in the binding's namespace to {', '.join(subjects)}",
                details=details,
            )
        else:
            yield ctx.ok(binding)


_BROAD_SUBJECTS = {
    ("User", "system:anonymous"),
    ("Group", "system:unauthenticated"),
    ("Group", "system:authenticated"),
    ("Group", "system:masters"),
}


_HARMLESS_ROLES = frozenset({"system:basic-user", "system:discovery", "system:public-info-viewer"})


@check("SEC-030")
def broad_group_bindings(ctx: CheckContext) -> Iterator[Result]:
    """Fail bindings that grant roles to anonymous users or cluster-wide groups.

    Rule (docs/catalogue.md#sec-030): failing when a subject is User ``system:anonymous``, Group
    ``system:unauthenticated``, Group ``system:authenticated`` or Group ``system:masters`` and the role
    is not one of system:basic-user, system:discovery, system:public-info-viewer.
    Interpretation: the harmless-role list applies to every listed subject (Kubernetes itself binds
    system:public-info-viewer to system:unauthenticated), and kubeadm's built-in cluster-admin →
    system:masters binding is not a finding (same exemption as SEC-028); passing otherwise.
    """
    for binding in ctx.snapshot.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role_name = str(ref.get("name") or "")
        if role_name in _HARMLESS_ROLES:
            yield ctx.ok(binding)
            continue
        offenders = []
        for s in _subjects(binding):
            key = (s.get("kind"), s.get("name"))
            if key not in _BROAD_SUBJECTS:
                continue
            if key == ("Group", "system:masters") and role_name == "cluster-admin" and binding.kind == BINDINGS[1]:
                continue  # kubeadm's own binding; system:masters bypasses RBAC anyway
            offenders.append(f"{key[0]} {key[1]}")
        if offenders:
            yield ctx.fail(
                binding, f"grants {ref.get('kind', 'role')} {role_name} to {', '.join(offenders)}", details=offenders
            )
        else:
            yield ctx.ok(binding)
