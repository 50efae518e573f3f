"""Security pillar checks (SEC-xxx): pod and container hardening, RBAC, exposure."""

from __future__ import annotations

import re
from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import effective_security_context, is_windows, unknown_pod_security_fields
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, Workload

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)


@check(
    id="SEC-001",
    pillar="security",
    name="Privileged or HostProcess container",
    severity="critical",
    description="A privileged container (or a Windows HostProcess container) has every capability "
    "and full access to the host's devices: one compromise is a node compromise.",
    remediation="Remove securityContext.privileged: true and windowsOptions.hostProcess: true; grant "
    "only the specific capabilities the process needs.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("runAsPrivileged", "hostProcess"),
        "kube-score": ("container-security-context-privileged",),
        "checkov": ("CKV_K8S_16",),
        "kube-linter": ("privileged-container",),
        "kubescape": ("C-0057",),
        "trivy": ("KSV-0017", "KSV-0103"),
    },
)
def privileged_container(ctx: CheckContext) -> Iterator[Result]:
    """Fail any workload with a privileged container or a HostProcess pod/container.

    Rule (catalogue SEC-001): any container in C (init + regular, ephemeral when live) with
    ``securityContext.privileged == true``, or ``windowsOptions.hostProcess == true`` at pod or
    container level. Privileged is container-only, so a pod-level value is ignored by Kubernetes.
    """
    for w in ctx.snap.workloads():
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


# ---- shared helpers for the pod/container hardening checks (SEC-002 … SEC-016) --------------------

_PEER_KEYS = ("polaris", "kube-score", "checkov", "kube-linter", "kubescape", "trivy", "popeye")


def _peers(**by_tool: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Peer ids keyed by scanner (``kube_score`` → ``kube-score``), every scanner present."""
    given = {k.replace("_", "-"): v for k, v in by_tool.items()}
    return {k: given.get(k, ()) for k in _PEER_KEYS}


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


def _sc_field(w: Workload, c: dict, key: str) -> str | None:
    """Where ``securityContext.<key>`` of container ``c`` is decided: the container's own field when
    it sets it, else the pod's when that sets it (inherited), else the container's (unset there:
    the report points at the container)."""
    if key in (c.get("securityContext") or {}):
        return w.container_path(c, f"securityContext.{key}")
    if key in (w.pod_spec.get("securityContext") or {}):
        return w.pod_path(f"securityContext.{key}")
    return w.container_path(c, f"securityContext.{key}")


def _misplaced(ctx: CheckContext, w: Workload, fields: tuple[str, ...]) -> Result | None:
    """An ``error`` when a container-only field this check reads sits in the pod securityContext.

    Kubernetes has no such PodSecurityContext field (the API server rejects or drops it), so the
    author's intent never reaches a container; passing silently would hide that (catalogue §1,
    Polaris #874). Live objects have already been through the API server, so this is manifest-only.
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


@check(
    id="SEC-002",
    pillar="security",
    name="Privilege escalation allowed",
    severity="high",
    description="A process that can gain more privileges than its parent (setuid binaries, file "
    "capabilities) turns a foothold in the container into root inside it, the first step to escape.",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container (and do not run "
    "it privileged or with CAP_SYS_ADMIN).",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("privilegeEscalationAllowed",),
        checkov=("CKV_K8S_20",),
        kube_linter=("privilege-escalation-container",),
        kubescape=("C-0016",),
        trivy=("KSV-0001",),
    ),
)
def privilege_escalation(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that can escalate privileges; warn where the spec leaves it to the default.

    Rule (catalogue SEC-002, §1): per container in C, failing when the effective
    ``allowPrivilegeEscalation`` is true, the container is privileged, or ``capabilities.add``
    contains SYS_ADMIN (each implies escalation whatever the flag says); warning when the flag is
    unset, because the kernel default (``no_new_privs`` off) allows escalation; passing when it is
    false on every container. In manifest mode, container-only fields written at pod level are an
    ``error`` for the workload instead of a silent pass.
    """
    for w in ctx.snap.workloads():
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


def _is_windows_pod(pod_spec: dict) -> bool:
    """Windows by ``spec.os.name``, or by the ``kubernetes.io/os: windows`` node selector that
    manifests written before ``spec.os`` existed (Kubernetes < 1.25) use to land on Windows nodes."""
    if is_windows(pod_spec):
        return True
    return str((pod_spec.get("nodeSelector") or {}).get("kubernetes.io/os", "")).lower() == "windows"


@check(
    id="SEC-003",
    pillar="security",
    name="Container may run as root",
    severity="high",
    description="A container running as UID 0 is root on the host's kernel: any escape or writable "
    "host mount is then a root compromise. Unless the spec proves a non-root user, assume root.",
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod level is "
    "inherited by every container) and build images with a numeric non-root USER.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("runAsRootAllowed",),
        checkov=("CKV_K8S_23",),
        kube_linter=("run-as-non-root",),
        kubescape=("C-0013",),
        trivy=("KSV-0012", "KSV-0105"),
        popeye=("POP-302", "POP-306"),
    ),
)
def run_as_root(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a container that runs, or may run, as root.

    Rule (catalogue SEC-003): per container in C on the *effective* context (pod-level
    ``runAsUser``/``runAsNonRoot`` are inherited, container values override them): passing when
    runAsUser > 0, or runAsNonRoot is true and runAsUser is not 0; failing when runAsUser is 0,
    when runAsNonRoot is true with runAsUser 0 (the kubelet refuses to start it), or when neither
    proves non-root (``runAsNonRoot: false`` proves nothing). Windows pods are skipped: they use
    ``windowsOptions.runAsUserName`` and reject runAsUser/runAsNonRoot semantics of Linux.
    """
    for w in ctx.snap.workloads():
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


@check(
    id="SEC-004",
    pillar="security",
    name="Root group",
    severity="medium",
    description="GID 0 owns many files in typical images and host paths; a process in the root "
    "group can read or write them even as a non-root user.",
    remediation="Set a non-zero runAsGroup wherever runAsUser is set, and do not use 0 for fsGroup "
    "or supplementalGroups.",
    mode="manifest",
    requires=W,
    peers=_peers(
        kube_score=("container-security-context-user-group-id",),
        kube_linter=("run-as-non-root",),
        kubescape=("C-0013",),
        trivy=("KSV-0116",),
    ),
)
def root_group(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads that run with GID 0; warn when a UID is set without a GID.

    Rule (catalogue SEC-004): failing when the effective runAsGroup of any container in C is 0,
    or pod ``fsGroup`` is 0, or pod ``supplementalGroups`` contains 0; warning when a container's
    effective runAsUser is set but runAsGroup is not (the GID then comes from the image, usually
    0). An unset runAsGroup on its own is not a finding (catalogue §1 "runAsGroup unset"
    regression: without runAsUser there is nothing to pair it with, and SEC-003 covers the user).
    """
    for w in ctx.snap.workloads():
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


@check(
    id="SEC-005",
    pillar="security",
    name="Low UID/GID (host ID collision)",
    severity="low",
    description="Without user namespaces, container UIDs/GIDs are host IDs: a low ID can collide "
    "with a real host account and inherit its file access after an escape.",
    remediation="Run with runAsUser and runAsGroup at or above the threshold (default 10000), or use "
    "user namespaces (hostUsers: false).",
    mode="manifest",
    requires=W,
    opt_in=True,
    peers=_peers(
        kube_score=("container-security-context-user-group-id",),
        checkov=("CKV_K8S_40",),
        trivy=("KSV-0020", "KSV-0021"),
    ),
)
def low_uid_gid(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers whose effective UID or GID is below ``uid_threshold`` (opt-in).

    Rule (catalogue SEC-005): failing when the effective runAsUser or runAsGroup of a container in
    C is below the threshold (default 10000); skipped(not-applicable) when the pod sets
    ``hostUsers: false`` (IDs are remapped); disabled unless enabled in config (kube-score #204).
    Interpretation: the row is silent on unset IDs; kube-score, Checkov and Trivy all treat an
    unset ID as failing (the image default is usually 0 or another low ID), so this does too.
    """
    threshold = int(ctx.setting("uid_threshold", 10000))
    for w in ctx.snap.workloads():
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


@check(
    id="SEC-006",
    pillar="security",
    name="Writable root filesystem",
    severity="medium",
    description="A writable root filesystem lets an attacker drop binaries or alter configuration "
    "inside the container; a read-only one makes the image immutable at runtime.",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes for the "
    "paths the process must write (e.g. /tmp).",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("notReadOnlyRootFilesystem",),
        kube_score=("container-security-context-readonlyrootfilesystem",),
        checkov=("CKV_K8S_22",),
        kube_linter=("no-read-only-root-fs",),
        kubescape=("C-0017",),
        trivy=("KSV-0014",),
    ),
)
def writable_root_fs(ctx: CheckContext) -> Iterator[Result]:
    """One result per container: failing unless ``readOnlyRootFilesystem`` is true.

    Rule (catalogue SEC-006): per container in C, failing where
    ``securityContext.readOnlyRootFilesystem`` is not true (unset included); skipped
    (not-applicable) for Windows pods, which do not support it. The field is container-only: a
    pod-level value is ignored by Kubernetes and, in manifest mode, reported as an ``error``.
    """
    for w in ctx.snap.workloads():
        if _is_windows_pod(w.pod_spec):
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Windows pod: readOnlyRootFilesystem is not supported")
            continue
        misplaced = _misplaced(ctx, w, ("readOnlyRootFilesystem",))
        if misplaced is not None:
            yield misplaced
            continue
        for c in w.containers(include_ephemeral=ctx.live):
            if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True:
                yield ctx.ok(w, container=_cname(c))
            else:
                yield ctx.fail(
                    w,
                    f"{_cname(c)}: root filesystem is writable",
                    container=_cname(c),
                    field=w.container_path(c, "securityContext.readOnlyRootFilesystem"),
                )


@check(
    id="SEC-007",
    pillar="security",
    name="Capabilities not dropped",
    severity="medium",
    description="Container runtimes grant a default capability set (including NET_RAW, used for "
    "spoofing and ARP attacks); dropping ALL and adding back only what is needed is least privilege.",
    remediation="Set securityContext.capabilities.drop: [ALL] on every container and add back only "
    "the specific capabilities required (e.g. NET_BIND_SERVICE).",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("insecureCapabilities",),
        checkov=("CKV_K8S_37", "CKV_K8S_28"),
        kube_linter=("drop-net-raw-capability",),
        kubescape=("C-0055",),
        trivy=("KSV-0003", "KSV-0004", "KSV-0106"),
    ),
)
def capabilities_not_dropped(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that drop no relevant capability; warn when only NET_RAW is dropped.

    Rule (catalogue SEC-007): per container in C, passing when ``capabilities.drop`` contains ALL
    (case-insensitive, ``CAP_`` prefix ignored); warning when it drops NET_RAW but not ALL;
    failing otherwise.
    """
    for w in ctx.snap.workloads():
        misplaced = _misplaced(ctx, w, ("capabilities",))
        if misplaced is not None:
            yield misplaced
            continue
        fails: list[Finding] = []
        warns: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            dropped = _caps(((c.get("securityContext") or {}).get("capabilities") or {}).get("drop"))
            if "ALL" in dropped:
                continue
            if "NET_RAW" in dropped:
                warns.append((_cname(c), "drops NET_RAW but not ALL"))
            else:
                fails.append(
                    (
                        _cname(c),
                        "does not drop ALL capabilities",
                        w.container_path(c, "securityContext.capabilities.drop"),
                    )
                )
        yield _verdict(ctx, w, fails, warns)


# kubescape's insecureCapabilities list (catalogue SEC-008); override with checks.SEC-008.dangerous_capabilities.
DANGEROUS_CAPABILITIES = (
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SETPCAP",
)


@check(
    id="SEC-008",
    pillar="security",
    name="Dangerous capabilities added",
    severity="high",
    description="Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE give a container kernel "
    "powers close to root on the host and are the usual ingredients of container escapes.",
    remediation="Remove the capability from securityContext.capabilities.add; if the workload truly "
    "needs it, isolate it on dedicated nodes and document an exemption.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("dangerousCapabilities",),
        checkov=("CKV_K8S_25", "CKV_K8S_39"),
        kubescape=("C-0046",),
        trivy=("KSV-0005", "KSV-0022", "KSV-0119", "KSV-0120"),
    ),
)
def dangerous_capabilities(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers adding a dangerous capability; warn on any other addition.

    Rule (catalogue SEC-008): per container in C, failing when ``capabilities.add`` contains one of
    the dangerous list (configurable as ``dangerous_capabilities``); warning for any other added
    capability except NET_BIND_SERVICE (binding ports < 1024 is harmless and common); passing when
    nothing else is added.
    """
    dangerous = set(_caps(ctx.setting("dangerous_capabilities", DANGEROUS_CAPABILITIES)))
    for w in ctx.snap.workloads():
        misplaced = _misplaced(ctx, w, ("capabilities",))
        if misplaced is not None:
            yield misplaced
            continue
        fails: list[Finding] = []
        warns: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            added = _caps(((c.get("securityContext") or {}).get("capabilities") or {}).get("add"))
            bad = [cap for cap in added if cap in dangerous]
            other = [cap for cap in added if cap not in dangerous and cap != "NET_BIND_SERVICE"]
            if bad:
                fails.append(
                    (_cname(c), f"adds {', '.join(bad)}", w.container_path(c, "securityContext.capabilities.add"))
                )
            elif other:
                warns.append((_cname(c), f"adds {', '.join(other)}"))
        yield _verdict(ctx, w, fails, warns)


@check(
    id="SEC-009",
    pillar="security",
    name="Host PID / IPC namespace",
    severity="high",
    description="Sharing the host's PID or IPC namespace lets a container see and signal every "
    "process on the node and read shared memory of other workloads.",
    remediation="Remove hostPID: true and hostIPC: true from the pod spec.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("hostPIDSet", "hostIPCSet"),
        checkov=("CKV_K8S_17", "CKV_K8S_18"),
        kube_linter=("host-pid", "host-ipc"),
        kubescape=("C-0038", "C-0275", "C-0276"),
        trivy=("KSV-0008", "KSV-0010"),
    ),
)
def host_pid_ipc(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods that share the host PID or IPC namespace (catalogue SEC-009: ``hostPID`` or
    ``hostIPC`` true on the pod spec)."""
    for w in ctx.snap.workloads():
        shared = [f for f in ("hostPID", "hostIPC") if w.pod_spec.get(f) is True]
        if shared:
            yield ctx.fail(
                w, f"pod shares the host namespace(s): {', '.join(shared)}", details=shared, field=w.pod_path(shared[0])
            )
        else:
            yield ctx.ok(w)


@check(
    id="SEC-010",
    pillar="security",
    name="Host network",
    severity="high",
    description="A pod on the host network can bind node ports, sniff node traffic and reach "
    "services listening on localhost, and it bypasses NetworkPolicy.",
    remediation="Remove hostNetwork: true; expose the workload through a Service instead.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("hostNetworkSet",),
        checkov=("CKV_K8S_19",),
        kube_linter=("host-network",),
        kubescape=("C-0041",),
        trivy=("KSV-0009",),
    ),
)
def host_network(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods with ``hostNetwork: true`` (catalogue SEC-010)."""
    for w in ctx.snap.workloads():
        if w.pod_spec.get("hostNetwork") is True:
            yield ctx.fail(
                w, "pod uses the host network namespace (hostNetwork: true)", field=w.pod_path("hostNetwork")
            )
        else:
            yield ctx.ok(w)


@check(
    id="SEC-011",
    pillar="security",
    name="hostPort used",
    severity="medium",
    description="A hostPort opens the port on the node's own address, bypassing Services and often "
    "NetworkPolicy, and limits scheduling to one such pod per node.",
    remediation="Remove ports[].hostPort and expose the workload through a Service (ClusterIP, "
    "NodePort or LoadBalancer).",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("hostPortSet",),
        checkov=("CKV_K8S_26",),
        kubescape=("C-0044",),
        trivy=("KSV-0024",),
    ),
)
def host_port(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads where any container in C declares a non-zero ``ports[].hostPort``
    (catalogue SEC-011; 0 is the API's "unset")."""
    for w in ctx.snap.workloads():
        fails: list[Finding] = []
        for c in w.containers(include_ephemeral=ctx.live):
            ports = [p for p in c.get("ports") or [] if isinstance(p, dict) and (_as_int(p.get("hostPort")) or 0) != 0]
            if ports:
                at = (c.get("ports") or []).index(ports[0])
                fails.append(
                    (
                        _cname(c),
                        "hostPort " + ", ".join(str(p["hostPort"]) for p in ports),
                        w.container_path(c, f"ports[{at}].hostPort"),
                    )
                )
        yield _verdict(ctx, w, fails, [])


# PSS-baseline-style sensitive host paths (catalogue SEC-012); override with checks.SEC-012.sensitive_host_paths.
SENSITIVE_HOST_PATHS = (
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/lib",
    "/usr",
    "/root",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/etc/kubernetes",
)


def _norm_path(path: object) -> str:
    """``/etc//kubernetes/`` → ``/etc/kubernetes``; the root stays ``/``."""
    parts = [p for p in str(path or "").split("/") if p and p != "."]
    return "/" + "/".join(parts)


@check(
    id="SEC-012",
    pillar="security",
    name="hostPath volume",
    severity="high",
    description="A hostPath volume exposes the node's filesystem to the container: writable or "
    "sensitive paths (kubelet credentials, /etc, /proc) allow reading secrets or taking over the node.",
    remediation="Replace hostPath with emptyDir, ConfigMap/Secret, CSI or PersistentVolume storage; if "
    "a host path is unavoidable, choose a narrow non-sensitive directory and mount it readOnly: true.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("hostPathSet",),
        kube_linter=("sensitive-host-mounts", "writable-host-mount"),
        kubescape=("C-0048", "C-0045", "C-0020"),
        trivy=("KSV-0023", "KSV-0121"),
    ),
)
def host_path_volume(ctx: CheckContext) -> Iterator[Result]:
    """Fail sensitive or writable hostPath volumes; warn on other read-only ones.

    Rule (catalogue SEC-012): each ``volumes[].hostPath`` joined with the ``volumeMounts`` of the
    containers in C that mount it: failing when the path is one of the sensitive paths
    (configurable ``sensitive_host_paths``) or any mount is not ``readOnly: true``; warning for any
    other hostPath (read-only, or declared but not mounted); passing when there is none.
    Interpretation: paths are compared exactly after normalisation (as kube-linter's
    sensitive-host-mounts does) — the list itself names sub-paths such as /etc/kubernetes, so it is
    not a prefix list; a sub-path like /etc/ssl/certs mounted read-only is a warning.
    """
    sensitive = {_norm_path(p) for p in ctx.setting("sensitive_host_paths", SENSITIVE_HOST_PATHS)}
    for w in ctx.snap.workloads():
        volumes = w.pod_spec.get("volumes") or []
        host_paths = {
            v.get("name"): _norm_path((v.get("hostPath") or {}).get("path"))
            for v in volumes
            if isinstance(v, dict) and v.get("hostPath") is not None
        }
        at = {
            v.get("name"): w.pod_path(f"volumes[{i}].hostPath.path")
            for i, v in enumerate(volumes)
            if isinstance(v, dict)
        }
        if not host_paths:
            yield ctx.ok(w)
            continue
        mounters: dict[str, list[str]] = {}
        writable: dict[str, list[str]] = {}
        for c in w.containers(include_ephemeral=ctx.live):
            for m in c.get("volumeMounts") or []:
                if isinstance(m, dict) and m.get("name") in host_paths:
                    mounters.setdefault(m["name"], []).append(_cname(c))
                    if m.get("readOnly") is not True:
                        writable.setdefault(m["name"], []).append(_cname(c))
        fails: list[Finding] = []
        warns: list[Finding] = []
        for vol, path in host_paths.items():
            writers = writable.get(vol, [])
            first = (writers or mounters.get(vol) or [None])[0]
            if path in sensitive:
                fails.append((first, f"volume {vol} mounts sensitive host path {path}", at.get(vol)))
            elif writers:
                fails.append(
                    (first, f"volume {vol} mounts host path {path} writable ({', '.join(writers)})", at.get(vol))
                )
            elif vol in mounters:
                warns.append((first, f"volume {vol} mounts host path {path} read-only"))
            else:
                warns.append((None, f"volume {vol} declares host path {path} (not mounted)"))
        yield _verdict(ctx, w, fails, warns)


_RUNTIME_SOCKET = re.compile(r"(docker|containerd|crio|cri-dockerd)\.sock$")


@check(
    id="SEC-013",
    pillar="security",
    name="Container runtime socket mounted",
    severity="critical",
    description="Access to the container runtime socket is root on the node: the container can start "
    "privileged containers, read every other container and mount the host filesystem.",
    remediation="Remove the hostPath volume for the runtime socket; use a purpose-built API (e.g. the "
    "kubelet's, or a rootless image builder such as BuildKit/kaniko) instead.",
    mode="manifest",
    requires=W,
    peers=_peers(
        checkov=("CKV_K8S_27",),
        kube_linter=("docker-sock",),
        kubescape=("C-0074",),
        trivy=("KSV-0006",),
    ),
)
def runtime_socket(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a hostPath to a container runtime socket.

    Rule (catalogue SEC-013): ``hostPath.path`` ending in docker.sock, containerd.sock, crio.sock or
    cri-dockerd.sock, or the ``/var/run/docker`` directory (or anything under it).
    """
    for w in ctx.snap.workloads():
        found = []
        field = None
        for i, v in enumerate(w.pod_spec.get("volumes") or []):
            if not isinstance(v, dict) or v.get("hostPath") is None:
                continue
            path = _norm_path((v.get("hostPath") or {}).get("path"))
            if _RUNTIME_SOCKET.search(path) or path == "/var/run/docker" or path.startswith("/var/run/docker/"):
                found.append(f"{v.get('name')}: {path}")
                field = field or w.pod_path(f"volumes[{i}].hostPath.path")
        if found:
            yield ctx.fail(w, f"mounts the container runtime socket: {', '.join(found)}", details=found, field=field)
        else:
            yield ctx.ok(w)


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


@check(
    id="SEC-014",
    pillar="security",
    name="Seccomp not enforced",
    severity="medium",
    description="Seccomp filters the system calls a container can make; without it (Unconfined, the "
    "default unless the kubelet enables SeccompDefault) every kernel syscall is attack surface.",
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault at pod level (or Localhost "
    "with a tailored profile).",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("linuxHardening",),
        kube_score=("container-seccomp-profile",),
        checkov=("CKV_K8S_31",),
        kubescape=("C-0210", "C-0055"),
        trivy=("KSV-0030", "KSV-0104"),
    ),
)
def seccomp_not_enforced(ctx: CheckContext) -> Iterator[Result]:
    """Fail explicit Unconfined seccomp; warn when no profile is set.

    Rule (catalogue SEC-014): per container in C, the profile is taken in the kubelet's order:
    container ``seccompProfile`` field, container annotation
    ``container.seccomp.security.alpha.kubernetes.io/<name>``, pod field, pod annotation
    ``seccomp.security.alpha.kubernetes.io/pod`` (annotations are deprecated but still count).
    Passing when every container gets RuntimeDefault or Localhost; failing when any gets
    Unconfined explicitly; warning when any has none (Unconfined unless the kubelet runs with
    SeccompDefault) or an unrecognised value.
    """
    for w in ctx.snap.workloads():
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
# SELinux types Pod Security Standards (baseline) allow; "" means "runtime default".
SAFE_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


@check(
    id="SEC-015",
    pillar="security",
    name="Unsafe isolation overrides",
    severity="high",
    description="AppArmor, SELinux and the masked /proc are the kernel's last line of isolation; "
    "turning them off (Unconfined, an unconfined SELinux type or user/role, procMount: Unmasked) "
    "removes protections the runtime applies by default.",
    remediation="Remove appArmorProfile Unconfined (and the legacy AppArmor annotation), custom "
    "seLinuxOptions user/role/type, and procMount: Unmasked.",
    mode="manifest",
    requires=W,
    peers=_peers(
        polaris=("procMount",),
        kube_linter=("unsafe-proc-mount",),
        trivy=("KSV-0002", "KSV-0025", "KSV-0027"),
    ),
)
def unsafe_isolation(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that disable AppArmor, override SELinux unsafely, or unmask /proc.

    Rule (catalogue SEC-015, the Pod Security Standards baseline): per container in C, failing
    when the AppArmor profile is Unconfined (container field, then the legacy annotation
    ``container.apparmor.security.beta.kubernetes.io/<name>``, then the pod field), when
    ``procMount`` is Unmasked, or when the effective ``seLinuxOptions`` sets ``user`` or ``role``
    or a ``type`` outside container_t, container_init_t, container_kvm_t, container_engine_t;
    passing otherwise.
    """
    for w in ctx.snap.workloads():
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


# Pod Security Standards baseline "safe" sysctls (catalogue SEC-016); override with checks.SEC-016.safe_sysctls.
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


@check(
    id="SEC-016",
    pillar="security",
    name="Unsafe sysctls",
    severity="medium",
    description="Sysctls outside the namespaced safe set change kernel behaviour for the whole node "
    "or other pods, so one workload can weaken or destabilise its neighbours.",
    remediation="Remove the sysctl from securityContext.sysctls, or tune it on dedicated nodes through "
    "node configuration instead of the pod.",
    mode="manifest",
    requires=W,
    peers=_peers(
        kube_linter=("unsafe-sysctls",),
        trivy=("KSV-0026",),
    ),
)
def unsafe_sysctls(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods setting a sysctl outside the PSS-baseline safe set (catalogue SEC-016).

    Names are compared in dotted form: Kubernetes also accepts the slash form
    (``net/ipv4/tcp_syncookies``), which the kubelet converts.
    """
    safe = set(ctx.setting("safe_sysctls", SAFE_SYSCTLS))
    for w in ctx.snap.workloads():
        sysctls = (w.pod_spec.get("securityContext") or {}).get("sysctls") or []
        names = [str(s.get("name", "")) for s in sysctls if isinstance(s, dict)]
        unsafe = [n for n in names if n.replace("/", ".") not in safe]
        if unsafe:
            yield ctx.fail(w, f"unsafe sysctl(s): {', '.join(unsafe)}", details=unsafe)
        else:
            yield ctx.ok(w)
