"""Objects nothing uses: orphaned claims, unbound volumes, unused ConfigMaps and Secrets
(COST-001 to COST-004).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.context import CheckContext
from checks.cost.common import _parse_time
from checks.cost.references import _build_refs, _pod_claims, _references, _Refs, _walk  # noqa: F401  (re-exported)
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject

DATA_DIR = Path(__file__).parents[1] / "data"  # checks/data, shared by every pillar


EXEMPT_ALLOW_LIST = f"{SkipReason.EXEMPT_PREFIX}allow-list"


EXEMPT_OWNED = f"{SkipReason.EXEMPT_PREFIX}owner-reference"


EXEMPT_BUILTIN = f"{SkipReason.EXEMPT_PREFIX}built-in"


@cache
def _data(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text()) or {}


def _age_hours(value: Any, now: datetime) -> float | None:
    when = _parse_time(value)
    if when is None:
        return None
    return (now - when).total_seconds() / 3600.0


def _allow_entries(section: str) -> list[dict[str, Any]]:
    return [e for e in (_data("unused_allowlist.yaml").get(section) or []) if isinstance(e, dict)]


def _meta_match(spec: str, values: dict[str, str]) -> bool:
    key, sep, want = spec.partition("=")
    if key not in values:
        return False
    return not sep or str(values[key]) == want


def _allow_listed(obj: K8sObject, section: str) -> str | None:
    """The reason of the first allow-list entry matching ``obj``, else None."""
    for entry in _allow_entries(section):
        ns_pattern = str(entry.get("namespace", "*"))
        if ns_pattern != "*" and not fnmatch.fnmatchcase(obj.namespace or "", ns_pattern):
            continue
        if not fnmatch.fnmatchcase(obj.name, str(entry.get("name", "*"))):
            continue
        if "label" in entry and not _meta_match(str(entry["label"]), obj.labels):
            continue
        if "annotation" in entry and not _meta_match(str(entry["annotation"]), obj.annotations):
            continue
        return str(entry.get("reason") or "built-in allow-list")
    return None


@check("COST-001")
def orphaned_pvc(ctx: CheckContext) -> Iterator[Result]:
    """Warn about PVCs nothing uses, once they are older than the grace period (default 24 h).

    Live: a claim counts as used when a pod mounts it (``volumes[].persistentVolumeClaim`` or a
    generic ephemeral volume). Manifests: when a workload template references it, or its name is
    ``<template>-<statefulset>-<ordinal>`` for a StatefulSet ``volumeClaimTemplates`` entry. A claim
    with ownerReferences has its lifecycle managed by the owner and passes. A claim without
    ``creationTimestamp`` (usual in manifests) cannot be in its grace period.
    """
    snap = ctx.snapshot
    if not snap.of_kind("PersistentVolumeClaim"):
        return
    refs = _pod_claims(snap) if ctx.live else snap.index("cost.references")
    templates: set[tuple[str | None, str]] = set()
    template_prefixes: set[str] = set()
    if not ctx.live:
        for sts in snap.of_kind("StatefulSet"):
            for tpl in sts.spec.get("volumeClaimTemplates") or []:
                name = (tpl.get("metadata") or {}).get("name")
                if name:
                    templates.add((sts.namespace, f"{name}-{sts.name}"))
                    template_prefixes.add(f"{name}-{sts.name}")
    grace = float(ctx.setting("orphan_grace_hours", 24))
    ordinal = re.compile(r"^(.*)-\d+$")
    for pvc in snap.of_kind("PersistentVolumeClaim"):
        if refs.has("pvcs", pvc.namespace, pvc.name):
            yield ctx.ok(pvc)
            continue
        match = ordinal.match(pvc.name)
        prefix = match.group(1) if match else None
        if prefix and (
            (pvc.namespace, prefix) in templates
            or (None, prefix) in templates
            or (pvc.namespace is None and prefix in template_prefixes)
        ):
            yield ctx.ok(pvc, "created from a StatefulSet volumeClaimTemplate")
            continue
        if pvc.owner_refs:
            yield ctx.ok(pvc, f"lifecycle managed by {pvc.owner_refs[0].get('kind')}/{pvc.owner_refs[0].get('name')}")
            continue
        age = _age_hours(pvc.meta.get("creationTimestamp"), ctx.snapshot.now())
        if age is not None and age < grace:
            yield ctx.ok(pvc, f"unused but created {age:.1f} h ago, within the {grace:g} h grace period")
            continue
        where = "no pod mounts it" if ctx.live else "no workload in the run references it"
        yield ctx.warn(pvc, f"PersistentVolumeClaim is orphaned: {where}", details={"age_hours": age})


@check("COST-002")
def unbound_pv(ctx: CheckContext) -> Iterator[Result]:
    """Failing for Released volumes kept by ``Retain``; warning for Available ones; passing otherwise."""
    for pv in ctx.snapshot.of_kind("PersistentVolume"):
        phase = pv.status.get("phase")
        policy = pv.spec.get("persistentVolumeReclaimPolicy")
        if phase == "Released" and policy == "Retain":
            claim = pv.spec.get("claimRef") or {}
            yield ctx.fail(
                pv,
                "Released volume with reclaimPolicy Retain: its storage is still billed",
                details={"former_claim": f"{claim.get('namespace')}/{claim.get('name')}" if claim else None},
            )
        elif phase == "Available":
            yield ctx.warn(pv, "Available volume that no claim is bound to")
        else:
            yield ctx.ok(pv)


@check("COST-003")
def unused_configmap(ctx: CheckContext) -> Iterator[Result]:
    """Warn about ConfigMaps nothing references; never failing (the graph cannot see API readers).

    References come from the full graph of :func:`_build_refs`. Skipped (exempt): ConfigMaps with
    ownerReferences and those matching the built-in allow-list ``checks/data/unused_allowlist.yaml``
    (``kube-root-ca.crt``, kubeadm/EKS/GKE system maps, Helm storage, leader-election locks...).
    """
    if not ctx.snapshot.of_kind("ConfigMap"):
        return
    refs = ctx.snapshot.index("cost.references")
    for cm in ctx.snapshot.of_kind("ConfigMap"):
        reason = _allow_listed(cm, "configmaps")
        if reason:
            yield ctx.skip(cm, EXEMPT_ALLOW_LIST, reason)
        elif cm.owner_refs:
            yield ctx.skip(cm, EXEMPT_OWNED, f"owned by {cm.owner_refs[0].get('kind')}/{cm.owner_refs[0].get('name')}")
        elif refs.has("configmaps", cm.namespace, cm.name):
            yield ctx.ok(cm)
        else:
            yield ctx.warn(cm, "ConfigMap is not referenced by any pod, workload or other object")


_SECRET_EXEMPT_TYPES = {
    "helm.sh/release.v1": "Helm release storage",
    "bootstrap.kubernetes.io/token": "bootstrap token read by the API server",
}


@check("COST-004")
def unused_secret(ctx: CheckContext) -> Iterator[Result]:
    """Warn about Secrets nothing references; never failing. Reads only Secret metadata and ``type``.

    Skipped (exempt): service-account tokens of an existing ServiceAccount, Helm release storage,
    bootstrap tokens, cert-manager managed Secrets (``cert-manager.io/certificate-name``), Secrets with
    ownerReferences, and the built-in allow-list. A token whose ServiceAccount is gone is a warning.
    """
    snap = ctx.snapshot
    if not snap.of_kind("Secret"):
        return
    refs = snap.index("cost.references")
    for secret in snap.of_kind("Secret"):
        secret_type = secret.raw.get("type") or "Opaque"
        annotations = secret.annotations
        if secret_type == "kubernetes.io/service-account-token":
            sa = annotations.get("kubernetes.io/service-account.name")
            if sa == "default" or (sa and snap.get("ServiceAccount", secret.namespace, sa) is not None):
                yield ctx.skip(secret, EXEMPT_BUILTIN, f"token of ServiceAccount {sa}")
            else:
                yield ctx.warn(secret, f"token of a ServiceAccount that does not exist ({sa or 'unnamed'})")
            continue
        if secret_type in _SECRET_EXEMPT_TYPES:
            yield ctx.skip(secret, EXEMPT_BUILTIN, _SECRET_EXEMPT_TYPES[secret_type])
            continue
        if "cert-manager.io/certificate-name" in annotations:
            yield ctx.skip(secret, EXEMPT_BUILTIN, "managed by cert-manager")
            continue
        reason = _allow_listed(secret, "secrets")
        if reason:
            yield ctx.skip(secret, EXEMPT_ALLOW_LIST, reason)
        elif secret.owner_refs:
            ref = secret.owner_refs[0]
            yield ctx.skip(secret, EXEMPT_OWNED, f"owned by {ref.get('kind')}/{ref.get('name')}")
        elif refs.has("secrets", secret.namespace, secret.name):
            yield ctx.ok(secret)
        else:
            yield ctx.warn(secret, "Secret is not referenced by any pod, ServiceAccount, Ingress or other object")
