"""The container's own sandbox: read-only root filesystem, dropped and added Linux
capabilities (SEC-006 to SEC-008).
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.registry import check
from checks.security.common import Finding, _caps, _cname, _is_windows_pod, _misplaced, _verdict


@check("SEC-006")
def writable_root_fs(ctx: CheckContext) -> Iterator[Result]:
    """One result per container: failing unless ``readOnlyRootFilesystem`` is true.

    Rule (docs/catalogue.md#sec-006): per container in C, failing where
    ``securityContext.readOnlyRootFilesystem`` is not true (unset included); skipped
    (not-applicable) for Windows pods, which do not support it. The field is container-only: a
    pod-level value is ignored by Kubernetes and, in manifest mode, reported as an ``error``.
    """
    for w in ctx.snapshot.workloads():
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


@check("SEC-007")
def capabilities_not_dropped(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers that drop no relevant capability; warn when only NET_RAW is dropped.

    Rule (docs/catalogue.md#sec-007): per container in C, passing when ``capabilities.drop`` contains ALL
    (case-insensitive, ``CAP_`` prefix ignored); warning when it drops NET_RAW but not ALL;
    failing otherwise.
    """
    for w in ctx.snapshot.workloads():
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


# kubescape's insecureCapabilities list (docs/catalogue.md#sec-008);
# override with checks.SEC-008.dangerous_capabilities.
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


@check("SEC-008")
def dangerous_capabilities(ctx: CheckContext) -> Iterator[Result]:
    """Fail containers adding a dangerous capability; warn on any other addition.

    Rule (docs/catalogue.md#sec-008): per container in C, failing when ``capabilities.add`` contains one of
    the dangerous list (configurable as ``dangerous_capabilities``); warning for any other added
    capability except NET_BIND_SERVICE (binding ports < 1024 is harmless and common); passing when
    nothing else is added.
    """
    dangerous = set(_caps(ctx.setting("dangerous_capabilities", DANGEROUS_CAPABILITIES)))
    for w in ctx.snapshot.workloads():
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
