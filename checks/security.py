"""Security pillar checks (SEC-xxx): pod and container hardening, RBAC, exposure."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check

W = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")


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
        for c in w.containers(include_ephemeral=ctx.live):
            sc = c.get("securityContext") or {}
            host_process = (sc.get("windowsOptions") or {}).get("hostProcess", pod_host_process)
            if sc.get("privileged") is True or host_process is True:
                bad.append(c.get("name", "?"))
        if bad:
            yield ctx.fail(w, f"privileged or HostProcess container(s): {', '.join(bad)}", container=bad[0], details=bad)
        else:
            yield ctx.ok(w)
