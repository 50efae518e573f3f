"""ServiceAccount tokens and the default ServiceAccount (SEC-017, SEC-018)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check
from checks.security.common import BINDINGS, _role_ref, _sa_subject_namespace, _subject_label, _subjects
from checks.snapshot import K8sObject, Snapshot, Workload


def _service_account_name(w: Workload) -> str:
    """``serviceAccountName``, else the deprecated ``serviceAccount``, else ``default``."""
    spec = w.pod_spec
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def _sa_binding_index(snap: Snapshot) -> dict[tuple[str | None, str], list[K8sObject]]:
    """``(namespace, sa name) -> bindings`` that grant that ServiceAccount a role, built once.

    Direct ServiceAccount subjects always count. The groups ``system:serviceaccounts`` and
    ``system:serviceaccounts:<ns>`` also make every (namespace's) ServiceAccount a subject; they are
    indexed under the name ``*`` and only when the bound role is not a built-in ``system:`` role,
    because every cluster binds discovery roles to those groups and that grants nothing worth a token.
    """
    index: dict[tuple[str | None, str], list[K8sObject]] = defaultdict(list)
    for binding in snap.of_kind(*BINDINGS):
        system_role = str(_role_ref(binding).get("name") or "").startswith("system:")
        for s in _subjects(binding):
            kind, name = s.get("kind"), str(s.get("name") or "")
            if kind == "ServiceAccount" and name:
                index[(_sa_subject_namespace(binding, s), name)].append(binding)
            elif kind == "Group" and not system_role:
                if name == "system:serviceaccounts":
                    index[("*", "*")].append(binding)
                elif name.startswith("system:serviceaccounts:"):
                    index[(name.split(":", 2)[2], "*")].append(binding)
    return index


def _bindings_for_sa(
    index: dict[tuple[str | None, str], list[K8sObject]], namespace: str | None, name: str
) -> list[K8sObject]:
    return index.get((namespace, name), []) + index.get((namespace, "*"), []) + index.get(("*", "*"), [])


@check("SEC-017")
def service_account_token_automount(ctx: CheckContext) -> Iterator[Result]:
    """Report workloads that mount a ServiceAccount token, failing when that token carries RBAC grants.

    Rule (docs/catalogue.md#sec-017): effective automount = ``pod.automountServiceAccountToken`` ??
    ``ServiceAccount.automountServiceAccountToken`` ?? ``true`` (the pod field wins whenever it is
    set, in either direction). passing: effective false; failing: effective true and the SA is a
    subject of any (Cluster)RoleBinding; warning: effective true and no binding was found (in
    manifest mode the bindings may simply not be part of the run). The binding index is built once.
    """
    snap = ctx.snapshot
    bindings = _sa_binding_index(snap)
    for w in snap.workloads():
        sa_name = _service_account_name(w)
        pod_value = w.pod_spec.get("automountServiceAccountToken")
        sa = snap.get("ServiceAccount", w.namespace, sa_name)
        sa_value = sa.raw.get("automountServiceAccountToken") if sa is not None else None
        if pod_value is not None:
            effective, source = bool(pod_value), "pod spec"
        elif sa_value is not None:
            effective, source = bool(sa_value), f"ServiceAccount {sa_name}"
        else:
            effective, source = True, "Kubernetes default"
        if not effective:
            yield ctx.ok(w, f"token not mounted (automountServiceAccountToken: false on the {source})")
            continue
        granted = _bindings_for_sa(bindings, w.namespace, sa_name)
        if granted:
            names = sorted({b.ref for b in granted})
            yield ctx.fail(
                w,
                f"ServiceAccount {sa_name} token is mounted ({source}) and is bound by {', '.join(names)}",
                details={"serviceAccount": sa_name, "automountFrom": source, "bindings": names},
            )
        else:
            yield ctx.warn(
                w,
                f"ServiceAccount {sa_name} token is mounted ({source}); no RoleBinding or ClusterRoleBinding "
                "grants it a role" + ("" if ctx.live else " in these manifests"),
                details={"serviceAccount": sa_name, "automountFrom": source, "bindings": []},
            )


@check("SEC-018")
def default_service_account(ctx: CheckContext) -> Iterator[Result]:
    """Flag roles bound to `default` ServiceAccounts, workloads running as one, and `default` SAs that automount.

    Rule (docs/catalogue.md#sec-018), one result per evaluated object:
    - (Cluster)RoleBinding: failing when a subject is a ServiceAccount named ``default``; passing otherwise;
    - workload: warning when it runs as ``default`` (``serviceAccountName`` unset counts); passing otherwise;
    - ServiceAccount ``default``: warning unless ``automountServiceAccountToken: false``; passing otherwise.
    """
    snap = ctx.snapshot
    for binding in snap.of_kind(*BINDINGS):
        defaults = [
            _subject_label(binding, s)
            for s in _subjects(binding)
            if s.get("kind") == "ServiceAccount" and s.get("name") == "default"
        ]
        if defaults:
            role = _role_ref(binding)
            yield ctx.fail(
                binding,
                f"grants {role.get('kind', 'role')} {role.get('name', '?')} to {', '.join(defaults)}",
                details=defaults,
            )
        else:
            yield ctx.ok(binding)
    for w in snap.workloads():
        if _service_account_name(w) == "default":
            yield ctx.warn(w, "runs as the namespace's default ServiceAccount (serviceAccountName unset or 'default')")
        else:
            yield ctx.ok(w)
    for sa in snap.of_kind("ServiceAccount"):
        if sa.name != "default":
            continue
        if sa.raw.get("automountServiceAccountToken") is False:
            yield ctx.ok(sa)
        else:
            yield ctx.warn(sa, "default ServiceAccount does not set automountServiceAccountToken: false")
