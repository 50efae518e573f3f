"""Kernel-level isolation: seccomp, AppArmor/SELinux overrides and sysctls (SEC-014 to SEC-016)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import effective_security_context
from checks.model import Result
from checks.registry import check
from checks.security.common import Finding, _cname, _misplaced, _verdict

_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"


_SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def _legacy_profile(value: object) -> str:
    """Legacy seccomp/AppArmor annotation value → the field's ``type`` vocabulary."""
    text = str(value).strip()
    if text in ("runtime/default", "docker/default"):
        return "RuntimeDefault"
    if text.startswith("localhost/"):
        return "Localhost"
    if text == "unconfined":
        return "Unconfined"
    return text


@check("SEC-014")
def seccomp_not_enforced(ctx: CheckContext) -> Iterator[Result]:
    """Fail explicit Unconfined seccomp; warn when no profile is set.

    Rule (docs/catalogue.md#sec-014): per container in C, the profile is taken in the kubelet's order:
    container ``seccompProfile`` field, container annotation
    ``container.seccomp.security.alpha.kubernetes.io/<name>``, pod field, pod annotation
    ``seccomp.security.alpha.kubernetes.io/pod`` (annotations are deprecated but still count).
    Passing when every container gets RuntimeDefault or Localhost; failing when any gets
    Unconfined explicitly; warning when any has none (Unconfined unless the kubelet runs with
    SeccompDefault) or an unrecognised value.
    """
    for w in ctx.snapshot.workloads():
        annotations = w.pod_annotations
        pod_field = ((w.pod_spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        pod_ann = annotations.get(_SECCOMP_POD_ANNOTATION)
        fails: list[Finding] = []
        warns: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            ctr_field = ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
            ctr_ann = annotations.get(_SECCOMP_CONTAINER_ANNOTATION + _cname(c))
            if ctr_field:
                profile = ctr_field
            elif ctr_ann is not None:
                profile = _legacy_profile(ctr_ann)
            elif pod_field:
                profile = pod_field
            elif pod_ann is not None:
                profile = _legacy_profile(pod_ann)
            else:
                warns.append((_cname(c), "no seccomp profile (Unconfined unless the kubelet enables SeccompDefault)"))
                continue
            if profile == "Unconfined":
                fails.append((_cname(c), "seccomp profile Unconfined"))
            elif profile not in ("RuntimeDefault", "Localhost"):
                warns.append((_cname(c), f"unrecognised seccomp profile {profile!r}"))
        yield _verdict(ctx, w, fails, warns)


_APPARMOR_CONTAINER_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


SAFE_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


@check("SEC-015")
def unsafe_isolation(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that disable AppArmor, override SELinux unsafely, or unmask /proc.

    Rule (docs/catalogue.md#sec-015, the Pod Security Standards baseline): per container in C, failing
    when the AppArmor profile is Unconfined (container field, then the legacy annotation
    ``container.apparmor.security.beta.kubernetes.io/<name>``, then the pod field), when
    ``procMount`` is Unmasked, or when the effective ``seLinuxOptions`` sets ``user`` or ``role``
    or a ``type`` outside container_t, container_init_t, container_kvm_t, container_engine_t;
    passing otherwise.
    """
    for w in ctx.snapshot.workloads():
        misplaced = _misplaced(ctx, w, ("procMount",))
        if misplaced is not None:
            yield misplaced
            continue
        annotations = w.pod_annotations
        pod_apparmor = ((w.pod_spec.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
        fails: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            name = _cname(c)
            sc = c.get("securityContext") or {}
            apparmor = (sc.get("appArmorProfile") or {}).get("type")
            if not apparmor and (name_ann := annotations.get(_APPARMOR_CONTAINER_ANNOTATION + name)) is not None:
                apparmor = _legacy_profile(name_ann)
            apparmor = apparmor or pod_apparmor
            reasons = []
            if apparmor == "Unconfined":
                reasons.append("AppArmor Unconfined")
            if sc.get("procMount") == "Unmasked":
                reasons.append("procMount: Unmasked")
            selinux = effective_security_context(w.pod_spec, c).get("seLinuxOptions") or {}
            if selinux.get("user") or selinux.get("role"):
                reasons.append("seLinuxOptions sets " + "/".join(k for k in ("user", "role") if selinux.get(k)))
            if str(selinux.get("type") or "") not in SAFE_SELINUX_TYPES:
                reasons.append(f"SELinux type {selinux['type']}")
            if reasons:
                fails.append((name, ", ".join(reasons)))
        yield _verdict(ctx, w, fails, [])


# Pod Security Standards baseline "safe" sysctls (docs/catalogue.md#sec-016); override with checks.SEC-016.safe_sysctls.
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_fin_timeout",
)


@check("SEC-016")
def unsafe_sysctls(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods setting a sysctl outside the PSS-baseline safe set (docs/catalogue.md#sec-016).

    Names are compared in dotted form: Kubernetes also accepts the slash form
    (``net/ipv4/tcp_syncookies``), which the kubelet converts.
    """
    safe = set(ctx.setting("safe_sysctls", SAFE_SYSCTLS))
    for w in ctx.snapshot.workloads():
        sysctls = (w.pod_spec.get("securityContext") or {}).get("sysctls") or []
        names = [str(s.get("name", "")) for s in sysctls if isinstance(s, dict)]
        unsafe = [n for n in names if n.replace("/", ".") not in safe]
        if unsafe:
            yield ctx.fail(w, f"unsafe sysctl(s): {', '.join(unsafe)}", details=unsafe)
        else:
            yield ctx.ok(w)
