"""Kubernetes versions: deprecated APIs, an outdated server, kubelet skew (OPS-004, OPS-006,
OPS-007).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.context import CheckContext
from checks.model import Result, SkipReason
from checks.registry import check

DATA_DIR = Path(__file__).parents[1] / "data"  # checks/data, shared by every pillar


DEFAULT_TARGET_VERSION = "1.31"


@cache
def _data(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text()) or {}


_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def _minor(version: Any) -> tuple[int, int] | None:
    """``v1.29.3-eks-1234`` / ``1.31`` → ``(1, 29)`` / ``(1, 31)``; None when unparsable."""
    match = _VERSION.match(str(version or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _fmt(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _server_version(ctx: CheckContext) -> tuple[int, int] | None:
    # A per-check ``server_version`` setting overrides the snapshot (offline re-evaluation, fixtures).
    return _minor(ctx.setting("server_version") or ctx.snapshot.server_version)


@cache
def _deprecations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(e["apiVersion"]), str(e["kind"])): e for e in _data("deprecations.yaml").get("apis") or []}


@check("OPS-004")
def deprecated_api(ctx: CheckContext) -> Iterator[Result]:
    """Failing when the object's apiVersion/kind is removed in the target version, warning when it is
    deprecated there, passing otherwise, using ``checks/data/deprecations.yaml``.

    Target version: the ``kubernetes_version`` setting, else the live server version, else 1.31. Live
    objects owned by a controller are reported through their owner.
    """
    target = _minor(ctx.setting("kubernetes_version", None) or ctx.snapshot.server_version) or _minor(
        DEFAULT_TARGET_VERSION
    )
    assert target is not None
    table = _deprecations()
    for obj in ctx.snapshot.objects:
        if not obj.kind or (ctx.live and obj.controller_ref is not None):
            continue
        entry = table.get((obj.api_version, obj.kind)) or table.get((obj.api_version, "*"))
        if entry is None:
            yield ctx.ok(obj)
            continue
        removed = _minor(entry.get("removed_in"))
        deprecated = _minor(entry.get("deprecated_in"))
        replacement = entry.get("replacement")
        hint = f"; use {replacement}" if replacement else "; the API has no direct replacement"
        details = {"apiVersion": obj.api_version, "kind": obj.kind, "deprecated_in": entry.get("deprecated_in"),
                   "removed_in": entry.get("removed_in"), "replacement": replacement, "target": _fmt(target)}
        if removed is not None and removed <= target:
            yield ctx.fail(obj, f"{obj.api_version} {obj.kind} was removed in {_fmt(removed)} "
                           f"(target {_fmt(target)}){hint}", details=details)
        elif deprecated is not None and deprecated <= target:
            when = f", removal in {_fmt(removed)}" if removed else ""
            yield ctx.warn(obj, f"{obj.api_version} {obj.kind} is deprecated since {_fmt(deprecated)}{when}{hint}",
                           details=details)
        else:
            yield ctx.ok(obj)


@check("OPS-006")
def version_outdated(ctx: CheckContext) -> Iterator[Result]:
    """One cluster-level result from the server version against ``checks/data/k8s_versions.yaml``:
    failing when the minor is older than the three most recent minors in the table, warning when it is
    the oldest of them, passing otherwise (including minors newer than the table).
    """
    server = _server_version(ctx)
    if server is None:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "server version unknown")
        return
    table = _data("k8s_versions.yaml")
    minors = sorted(v for v in (_minor(e.get("version")) for e in table.get("minors") or []) if v)
    supported = minors[-3:]
    eol = {_minor(e.get("version")): e.get("end_of_life") for e in table.get("minors") or []}
    details = {"server": _fmt(server), "supported": [_fmt(v) for v in supported], "table_as_of": table.get("as_of"),
               "end_of_life": eol.get(server)}
    if not supported or server > supported[-1]:
        yield ctx.ok(None, f"Kubernetes {_fmt(server)} is newer than the bundled version table", details=details)
    elif server < supported[0]:
        yield ctx.fail(None, f"Kubernetes {_fmt(server)} is out of upstream support (supported: "
                       f"{', '.join(_fmt(v) for v in supported)})", details=details)
    elif server == supported[0]:
        yield ctx.warn(None, f"Kubernetes {_fmt(server)} is the oldest supported minor; plan the upgrade",
                       details=details)
    else:
        yield ctx.ok(None, f"Kubernetes {_fmt(server)} is supported", details=details)


@check("OPS-007")
def kubelet_skew(ctx: CheckContext) -> Iterator[Result]:
    """Per node: failing when the kubelet minor is newer than the API server's or older than the allowed skew
    (3 minors from server 1.28, 2 before); warning when kubelet minors are mixed across nodes and this node
    is behind the newest one (an unfinished upgrade); passing otherwise.
    """
    server = _server_version(ctx)
    nodes = [(n, _minor((n.status.get("nodeInfo") or {}).get("kubeletVersion"))) for n in ctx.snapshot.of_kind("Node")]
    known = [v for _, v in nodes if v]
    newest = max(known) if known else None
    mixed = len(set(known)) > 1
    skew = 3 if server and server >= (1, 28) else 2
    if not nodes:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no nodes listed")
    for node, kubelet in nodes:
        if kubelet is None:
            yield ctx.skip(node, SkipReason.NOT_APPLICABLE, "kubelet version unknown")
            continue
        details = {"kubelet": _fmt(kubelet), "server": _fmt(server) if server else None}
        if server and kubelet > server:
            yield ctx.fail(node, f"kubelet {_fmt(kubelet)} is newer than the API server {_fmt(server)}",
                           details=details)
        elif server and kubelet[0] == server[0] and server[1] - kubelet[1] > skew:
            yield ctx.fail(node, f"kubelet {_fmt(kubelet)} is more than {skew} minors older than the API server "
                           f"{_fmt(server)}", details=details)
        elif mixed and newest and kubelet < newest:
            yield ctx.warn(node, f"kubelet {_fmt(kubelet)} is behind other nodes ({_fmt(newest)}): mixed minors",
                           details=details)
        else:
            yield ctx.ok(node)
