"""Helpers shared by more than one security topic module."""

from __future__ import annotations

from typing import Any

from checks.context import CheckContext
from checks.k8s import is_windows, unknown_pod_security_fields
from checks.model import Result
from checks.rbac_defaults import (  # noqa: F401  (re-exported: the RBAC checks' one rule)
    AUTOUPDATE_ANNOTATION,
    BOOTSTRAP_LABEL,
    BOOTSTRAP_VALUE,
    is_bootstrapped,
    is_system_object,
)
from checks.snapshot import K8sObject, Snapshot, Workload


def _cname(c: dict) -> str:
    return c.get("name") or "?"


def _as_int(value: object) -> int | None:
    """An integer field as int; anything else (unset, templated text, bool) as None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _caps(values: object) -> list[str]:
    """Capability names normalised the way runtimes read them: upper case, no ``CAP_`` prefix."""
    out = []
    for v in values or []:  # type: ignore[union-attr]
        name = str(v).strip().upper()
        out.append(name[4:] if name.startswith("CAP_") else name)
    return out


# (container name, or None for a pod-level field; reason[; the field's path in the object])
Finding = tuple[str | None, str] | tuple[str | None, str, str | None]


def _verdict(ctx: CheckContext, w: Workload, fails: list[Finding], warns: list[Finding]) -> Result:
    """One workload-level result from findings ``(container, reason[, field path])``.

    Failing wins over warning; the first offender goes in ``container=`` (and its field, when the
    finding names one, in ``field=``: the line a report points at) and every finding in
    ``details`` so a report can list them all.
    """
    for status_fn, found in ((ctx.fail, fails), (ctx.warn, warns)):
        if found:
            message = "; ".join(f"{f[0] or 'pod'}: {f[1]}" for f in found)
            details = [{"container": f[0], "reason": f[1]} for f in found]
            first = next((f[0] for f in found if f[0]), None)
            field = next((f[2] for f in found if len(f) > 2 and f[2]), None)
            return status_fn(w, message, container=first, details=details, field=field)
    return ctx.ok(w)


def _misplaced(ctx: CheckContext, w: Workload, fields: tuple[str, ...]) -> Result | None:
    """An ``error`` when a container-only field this check reads sits in the pod securityContext.

    Kubernetes has no such PodSecurityContext field (the API server rejects or drops it), so the
    author's intent never reaches a container; passing silently would hide that
    (docs/catalogue.md#security-context-levels, Polaris #874). Live objects have already been
    through the API server, so this is manifest-only.
    """
    if ctx.live:
        return None
    wrong = [f for f in unknown_pod_security_fields(w.pod_spec) if f in fields]
    if not wrong:
        return None
    return ctx.error(
        w,
        f"pod-level securityContext sets container-only field(s) {', '.join(wrong)}, which Kubernetes "
        "ignores there: move them to each container's securityContext",
        details=wrong,
    )


def _is_windows_pod(pod_spec: dict) -> bool:
    """Windows by ``spec.os.name``, or by the ``kubernetes.io/os: windows`` node selector that
    manifests written before ``spec.os`` existed (Kubernetes < 1.25) use to land on Windows nodes."""
    if is_windows(pod_spec):
        return True
    return str((pod_spec.get("nodeSelector") or {}).get("kubernetes.io/os", "")).lower() == "windows"


BINDINGS = ("RoleBinding", "ClusterRoleBinding")


def _subjects(binding: K8sObject) -> list[dict[str, Any]]:
    return [s for s in binding.raw.get("subjects") or [] if isinstance(s, dict)]


def _role_ref(binding: K8sObject) -> dict[str, Any]:
    return binding.raw.get("roleRef") or {}


def _sa_subject_namespace(binding: K8sObject, subject: dict[str, Any]) -> str | None:
    # A RoleBinding may omit a ServiceAccount subject's namespace: it defaults to the binding's.
    return subject.get("namespace") or binding.namespace


def _subject_label(binding: K8sObject, s: dict[str, Any]) -> str:
    kind = s.get("kind") or "?"
    ns = _sa_subject_namespace(binding, s) if kind == "ServiceAccount" else None
    return f"{kind} {ns}/{s.get('name') or '?'}" if ns else f"{kind} {s.get('name') or '?'}"


def _namespace_subject(snap: Snapshot, namespace: str) -> K8sObject:
    """The Namespace object, or a stand-in when manifests reference a namespace they never define."""
    obj = snap.get("Namespace", None, namespace)
    if obj is not None:
        return obj
    return K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def is_system_role_ref(role: K8sObject | None, ref: dict[str, Any], live: bool) -> bool:
    """Whether a binding's roleRef names a bootstrapped role.

    A role the snapshot holds is judged by :func:`is_system_object`. A manifest run rarely holds the
    cluster's own roles, so a ``system:`` role the manifests do not define is presumed to be the
    bootstrapped one it names; a live run lists every role, so there an absent role is just absent.
    """
    if role is not None:
        return is_system_object(role)
    return not live and str(ref.get("name") or "").startswith("system:")


# Names under the reserved prefix that stand for workloads or for everyone, not for a component.
_SERVICE_ACCOUNT_PREFIXES = ("system:serviceaccount:", "system:serviceaccounts")
_EVERYONE = frozenset({"system:authenticated", "system:unauthenticated", "system:anonymous"})


def is_system_subject_name(name: str) -> bool:
    """Whether a User or Group subject is a Kubernetes component (docs/catalogue.md#system-rbac).

    Authenticators reserve the ``system:`` prefix, so a subject under it is Kubernetes' own, except
    the names that are ServiceAccounts in disguise (User ``system:serviceaccount:<ns>:<name>``,
    Group ``system:serviceaccounts[:<ns>]``: any workload's token) and the groups of every caller
    (``system:authenticated``, ``system:unauthenticated``, User ``system:anonymous``).
    """
    if not name.startswith("system:"):
        return False
    return name not in _EVERYONE and not name.startswith(_SERVICE_ACCOUNT_PREFIXES)
