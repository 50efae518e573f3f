"""Who a container runs as and what it may become: privileged mode, privilege escalation,
root user and group, low UIDs (SEC-001 to SEC-005).
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import effective_security_context
from checks.model import Result, SkipReason
from checks.registry import check
from checks.security.common import Finding, _as_int, _caps, _cname, _is_windows_pod, _misplaced, _verdict
from checks.snapshot import Workload


@check("SEC-001")
def privileged_container(ctx: CheckContext) -> Iterator[Result]:
    """Fail any workload with a privileged container or a HostProcess pod/container.

    Rule (docs/catalogue.md#sec-001): any container in C (init + regular, ephemeral when live) with
    ``securityContext.privileged == true``, or ``windowsOptions.hostProcess == true`` at pod or
    container level. Privileged is container-only, so a pod-level value is ignored by Kubernetes.
    """
    for w in ctx.snapshot.workloads():
        pod_host_process = ((w.pod_spec.get("securityContext") or {}).get("windowsOptions") or {}).get("hostProcess")
        bad = []
        field = None
        for c in w.containers(include_ephemeral=ctx.live):
            sc = c.get("securityContext") or {}
            host_process = (sc.get("windowsOptions") or {}).get("hostProcess", pod_host_process)
            if sc.get("privileged") is True or host_process is True:
                bad.append(c.get("name", "?"))
                if field is None:
                    field = (
                        w.container_path(c, "securityContext.privileged")
                        if sc.get("privileged") is True
                        else _sc_field(w, c, "windowsOptions.hostProcess")
                    )
        if bad:
            message = f"privileged or HostProcess container(s): {', '.join(bad)}"
            yield ctx.fail(w, message, container=bad[0], details=bad, field=field)
        else:
            yield ctx.ok(w)


def _sc_field(w: Workload, c: dict, key: str) -> str | None:
    """Where ``securityContext.<key>`` of container ``c`` is decided: the container's own field when
    it sets it, else the pod's when that sets it (inherited), else the container's (unset there:
    the report points at the container)."""
    if key in (c.get("securityContext") or {}):
        return w.container_path(c, f"securityContext.{key}")
    if key in (w.pod_spec.get("securityContext") or {}):
        return w.pod_path(f"securityContext.{key}")
    return w.container_path(c, f"securityContext.{key}")


@check("SEC-002")
def privilege_escalation(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that can escalate privileges; warn where the spec leaves it to the default.

    Rule (docs/catalogue.md#sec-002): per container in C, failing when the effective
    ``allowPrivilegeEscalation`` is true, the container is privileged, or ``capabilities.add``
    contains SYS_ADMIN (each implies escalation whatever the flag says); warning when the flag is
    unset, because the kernel default (``no_new_privs`` off) allows escalation; passing when it is
    false on every container. In manifest mode, container-only fields written at pod level are an
    ``error`` for the workload instead of a silent pass.
    """
    for w in ctx.snapshot.workloads():
        misplaced = _misplaced(ctx, w, ("allowPrivilegeEscalation", "privileged", "capabilities"))
        if misplaced is not None:
            yield misplaced
            continue
        fails: list[Finding] = []
        warns: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            sc = effective_security_context(w.pod_spec, c)
            ape = sc.get("allowPrivilegeEscalation")
            if sc.get("privileged") is True:
                fails.append((_cname(c), "privileged (always allows escalation)", _sc_field(w, c, "privileged")))
            elif "SYS_ADMIN" in _caps((sc.get("capabilities") or {}).get("add")):
                fails.append((_cname(c), "adds SYS_ADMIN (allows escalation)", _sc_field(w, c, "capabilities")))
            elif ape is True:
                fails.append((_cname(c), "allowPrivilegeEscalation: true", _sc_field(w, c, "allowPrivilegeEscalation")))
            elif ape is None:
                warns.append((_cname(c), "allowPrivilegeEscalation unset (defaults to allowed)"))
        yield _verdict(ctx, w, fails, warns)


@check("SEC-003")
def run_as_root(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a container that runs, or may run, as root.

    Rule (docs/catalogue.md#sec-003): per container in C on the *effective* context (pod-level
    ``runAsUser``/``runAsNonRoot`` are inherited, container values override them): passing when
    runAsUser > 0, or runAsNonRoot is true and runAsUser is not 0; failing when runAsUser is 0,
    when runAsNonRoot is true with runAsUser 0 (the kubelet refuses to start it), or when neither
    proves non-root (``runAsNonRoot: false`` proves nothing). Windows pods are skipped: they use
    ``windowsOptions.runAsUserName`` and reject runAsUser/runAsNonRoot semantics of Linux.
    """
    for w in ctx.snapshot.workloads():
        if _is_windows_pod(w.pod_spec):
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Windows pod: identity is windowsOptions.runAsUserName")
            continue
        fails: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            sc = effective_security_context(w.pod_spec, c)
            uid = _as_int(sc.get("runAsUser"))
            non_root = sc.get("runAsNonRoot") is True
            if uid is not None and uid > 0:
                continue
            if uid == 0 and non_root:
                fails.append(
                    (
                        _cname(c),
                        "runAsNonRoot: true with runAsUser: 0 (the pod will not start)",
                        _sc_field(w, c, "runAsUser"),
                    )
                )
            elif uid == 0:
                fails.append((_cname(c), "runAsUser: 0 (root)", _sc_field(w, c, "runAsUser")))
            elif not non_root:
                fails.append(
                    (
                        _cname(c),
                        "cannot prove non-root: neither runAsUser > 0 nor runAsNonRoot: true",
                        _sc_field(w, c, "runAsNonRoot"),
                    )
                )
        yield _verdict(ctx, w, fails, [])


@check("SEC-004")
def root_group(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads that run with GID 0; warn when a UID is set without a GID.

    Rule (docs/catalogue.md#sec-004): failing when the effective runAsGroup of any container in C is 0,
    or pod ``fsGroup`` is 0, or pod ``supplementalGroups`` contains 0; warning when a container's
    effective runAsUser is set but runAsGroup is not (the GID then comes from the image, usually
    0). An unset runAsGroup on its own is not a finding (docs/catalogue.md#regressions, "runAsGroup unset"
    regression: without runAsUser there is nothing to pair it with, and SEC-003 covers the user).
    """
    for w in ctx.snapshot.workloads():
        pod_ctx = w.pod_spec.get("securityContext") or {}
        fails: list[Finding] = []
        warns: list[Finding] = []
        if _as_int(pod_ctx.get("fsGroup")) == 0:
            fails.append((None, "fsGroup: 0", w.pod_path("securityContext.fsGroup")))
        if 0 in [_as_int(g) for g in pod_ctx.get("supplementalGroups") or []]:
            fails.append((None, "supplementalGroups contains 0", w.pod_path("securityContext.supplementalGroups")))
        for c in w.containers(include_ephemeral=ctx.live):
            sc = effective_security_context(w.pod_spec, c)
            if "runAsGroup" in sc:
                if _as_int(sc["runAsGroup"]) == 0:
                    fails.append((_cname(c), "runAsGroup: 0", _sc_field(w, c, "runAsGroup")))
            elif "runAsUser" in sc:
                warns.append((_cname(c), "runAsUser set but runAsGroup unset (GID falls back to the image, often 0)"))
        yield _verdict(ctx, w, fails, warns)


@check("SEC-005")
def low_uid_gid(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers whose effective UID or GID is below ``uid_threshold`` (opt-in).

    Rule (docs/catalogue.md#sec-005): failing when the effective runAsUser or runAsGroup of a container in
    C is below the threshold (default 10000); skipped(not-applicable) when the pod sets
    ``hostUsers: false`` (IDs are remapped); disabled unless enabled in config (kube-score #204).
    Interpretation: the row is silent on unset IDs; kube-score, Checkov and Trivy all treat an
    unset ID as failing (the image default is usually 0 or another low ID), so this does too.
    """
    threshold = int(ctx.setting("uid_threshold", 10000))
    for w in ctx.snapshot.workloads():
        if w.pod_spec.get("hostUsers") is False:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "hostUsers: false: container IDs are not host IDs")
            continue
        fails: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            sc = effective_security_context(w.pod_spec, c)
            for field_name, label in (("runAsUser", "UID"), ("runAsGroup", "GID")):
                value = _as_int(sc.get(field_name))
                if value is None:
                    fails.append((_cname(c), f"{field_name} unset (image default {label} is usually low)"))
                elif value < threshold:
                    fails.append((_cname(c), f"{field_name}: {value} < {threshold}"))
        yield _verdict(ctx, w, fails, [])
