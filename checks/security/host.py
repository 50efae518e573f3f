"""What a pod shares with its node: host PID/IPC/network namespaces, host ports, hostPath
volumes and the container runtime socket (SEC-009 to SEC-013).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check
from checks.security.common import Finding, _as_int, _cname, _verdict


@check("SEC-009")
def host_pid_ipc(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods that share the host PID or IPC namespace (docs/catalogue.md#sec-009: ``hostPID`` or
    ``hostIPC`` true on the pod spec)."""
    for w in ctx.snapshot.workloads():
        shared = [f for f in ("hostPID", "hostIPC") if w.pod_spec.get(f) is True]
        if shared:
            yield ctx.fail(
                w, f"pod shares the host namespace(s): {', '.join(shared)}", details=shared, field=w.pod_path(shared[0])
            )
        else:
            yield ctx.ok(w)


@check("SEC-010")
def host_network(ctx: CheckContext) -> Iterator[Result]:
    """Fail pods with ``hostNetwork: true`` (docs/catalogue.md#sec-010)."""
    for w in ctx.snapshot.workloads():
        if w.pod_spec.get("hostNetwork") is True:
            yield ctx.fail(
                w, "pod uses the host network namespace (hostNetwork: true)", field=w.pod_path("hostNetwork")
            )
        else:
            yield ctx.ok(w)


@check("SEC-011")
def host_port(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads where any container in C declares a non-zero ``ports[].hostPort``
    (docs/catalogue.md#sec-011; 0 is the API's "unset")."""
    for w in ctx.snapshot.workloads():
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


# PSS-baseline-style sensitive host paths (docs/catalogue.md#sec-012);
# override with checks.SEC-012.sensitive_host_paths.
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


@check("SEC-012")
def host_path_volume(ctx: CheckContext) -> Iterator[Result]:
    """Fail sensitive or writable hostPath volumes; warn on other read-only ones.

    Rule (docs/catalogue.md#sec-012): each ``volumes[].hostPath`` joined with the ``volumeMounts`` of the
    containers in C that mount it: failing when the path is one of the sensitive paths
    (configurable ``sensitive_host_paths``) or any mount is not ``readOnly: true``; warning for any
    other hostPath (read-only, or declared but not mounted); passing when there is none.
    Interpretation: paths are compared exactly after normalisation (as kube-linter's
    sensitive-host-mounts does) — the list itself names sub-paths such as /etc/kubernetes, so it is
    not a prefix list; a sub-path like /etc/ssl/certs mounted read-only is a warning.
    """
    sensitive = {_norm_path(p) for p in ctx.setting("sensitive_host_paths", SENSITIVE_HOST_PATHS)}
    for w in ctx.snapshot.workloads():
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


@check("SEC-013")
def runtime_socket(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a hostPath to a container runtime socket.

    Rule (docs/catalogue.md#sec-013): ``hostPath.path`` ending in docker.sock, containerd.sock, crio.sock or
    cri-dockerd.sock, or the ``/var/run/docker`` directory (or anything under it).
    """
    for w in ctx.snapshot.workloads():
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
