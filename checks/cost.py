"""Cost pillar checks (COST-xxx): idle and orphaned objects, quotas, right-sizing, allocation labels."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.context import CheckContext
from checks.k8s import QuantityError, as_int, container_resource, parse_quantity, service_selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, Workload, register_index

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)
DATA_DIR = Path(__file__).parent / "data"
EXEMPT_ALLOW_LIST = f"{SkipReason.EXEMPT_PREFIX}allow-list"
EXEMPT_OWNED = f"{SkipReason.EXEMPT_PREFIX}owner-reference"
EXEMPT_BUILTIN = f"{SkipReason.EXEMPT_PREFIX}built-in"


# ---- shared helpers ------------------------------------------------------------------------------

@cache
def _data(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text()) or {}


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _age_hours(value: Any, now: datetime) -> float | None:
    when = _parse_time(value)
    if when is None:
        return None
    return (now - when).total_seconds() / 3600.0



def _quantity(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


class _Refs:
    """Every ConfigMap / Secret / PVC some object points at, as ``(namespace, name)`` pairs.

    References made by cluster-scoped objects (or namespace-less manifests) carry no namespace and
    are kept as bare names that match in any namespace: better to miss an unused object than to
    call a used one unused.
    """

    __slots__ = ("any_name", "any_ns", "configmaps", "pvcs", "secrets")

    def __init__(self) -> None:
        self.configmaps: set[tuple[str | None, str]] = set()
        self.secrets: set[tuple[str | None, str]] = set()
        self.pvcs: set[tuple[str | None, str]] = set()
        self.any_ns: dict[str, set[str]] = {"configmaps": set(), "secrets": set(), "pvcs": set()}
        self.any_name: dict[str, set[str]] = {"configmaps": set(), "secrets": set(), "pvcs": set()}

    def add(self, what: str, namespace: str | None, name: Any) -> None:
        if not isinstance(name, str) or not name:
            return
        self.any_name[what].add(name)
        if namespace is None or "$" in namespace or "{" in namespace:
            self.any_ns[what].add(name)
        else:
            getattr(self, what).add((namespace, name))

    def has(self, what: str, namespace: str | None, name: str) -> bool:
        if namespace is None:  # a namespace-less manifest lands in whatever namespace it is applied to
            return name in self.any_name[what]
        return (namespace, name) in getattr(self, what) or name in self.any_ns[what]


# Keys whose dict value names a ConfigMap / Secret (pod volumes, projected sources, env, envFrom, and the
# same shapes inside custom resources such as Argo Rollouts or Prometheus).
_CM_DICT_KEYS = frozenset({"configMap", "configMapRef", "configMapKeyRef"})
_CM_STR_KEYS = frozenset({"configMapName", "configmapName"})
_SECRET_DICT_KEYS = frozenset({"secret", "secretRef", "secretKeyRef"})
_SECRET_STR_KEYS = frozenset({"secretName", "existingSecret"})
_FLAG = re.compile(r"^--?([A-Za-z0-9_.-]+)=(\S+)$")
# Kinds whose content is data, not references; Secrets are never read beyond metadata and type.
_NO_WALK_KINDS = frozenset({"ConfigMap", "Secret", "Event"})


def _ns_name(value: str, default_ns: str | None) -> tuple[str | None, str]:
    """``ns/name`` or ``name`` as used in controller flags and annotations."""
    if "/" in value:
        ns, _, name = value.rpartition("/")
        return (ns or default_ns), name
    return default_ns, value


def _walk(node: Any, ns: str | None, refs: _Refs, with_pvcs: bool = True) -> None:
    # Exact type tests: parsed manifests and API responses hold plain dicts, lists and strings,
    # and this loop visits every node of every object (10k objects: 0.55 s -> 0.3 s).
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        current = pop()
        if type(current) is list:
            only_strings = bool(current)
            for item in current:
                kind = type(item)
                if kind is dict or kind is list:
                    push(item)
                    only_strings = False
                elif kind is not str:
                    only_strings = False
            if only_strings:
                _scan_flags(current, ns, refs)
            continue
        for key, value in current.items():
            kind = type(value)
            if kind is str:
                if key in _CM_STR_KEYS:
                    refs.add("configmaps", ns, value)
                elif key in _SECRET_STR_KEYS:
                    refs.add("secrets", ns, value)
            elif kind is dict:
                target_ns = value.get("namespace")
                if type(target_ns) is not str:
                    target_ns = ns
                if key in _CM_DICT_KEYS:
                    refs.add("configmaps", target_ns, value.get("name"))
                elif key in _SECRET_DICT_KEYS or (type(key) is str and key.endswith("SecretRef")):
                    refs.add("secrets", target_ns, value.get("name") or value.get("secretName"))
                elif key == "persistentVolumeClaim" and with_pvcs:
                    refs.add("pvcs", ns, value.get("claimName"))
                push(value)
            elif kind is list:
                if key in _LIST_REF_KEYS:
                    what = "configmaps" if key == "configMaps" else "secrets"
                    for item in value:
                        if isinstance(item, str):
                            refs.add(what, ns, item)
                        elif isinstance(item, dict):
                            refs.add(what, item.get("namespace") or ns, item.get("name"))
                elif key == "certificateRefs":  # Gateway API listeners; kind defaults to Secret
                    for item in value:
                        if isinstance(item, dict) and item.get("kind", "Secret") == "Secret":
                            refs.add("secrets", item.get("namespace") or ns, item.get("name"))
                push(value)


_LIST_REF_KEYS = frozenset({"imagePullSecrets", "pullSecrets", "secrets", "configMaps"})


def _scan_flags(args: list[str], ns: str | None, refs: _Refs) -> None:
    """Controller flags such as ingress-nginx ``--configmap=$(POD_NAMESPACE)/ingress-nginx-controller``."""
    for arg in args:
        match = _FLAG.match(arg)
        if not match:
            continue
        flag = match.group(1).lower()
        target_ns, name = _ns_name(match.group(2), ns)
        if "configmap" in flag:
            refs.add("configmaps", target_ns, name)
        elif "secret" in flag or "certificate" in flag:
            refs.add("secrets", target_ns, name)


def _scan_annotations(obj: K8sObject, refs: _Refs) -> None:
    # e.g. nginx.ingress.kubernetes.io/auth-secret: "ns/name", auth-tls-secret
    for key, value in obj.annotations.items():
        if not (isinstance(key, str) and isinstance(value, str)) or not value or " " in value:
            continue
        if "secret" in key.rsplit("/", 1)[-1].lower():
            target_ns, name = _ns_name(value, obj.namespace)
            refs.add("secrets", target_ns, name)


def _storage_class_refs(obj: K8sObject, refs: _Refs) -> None:
    # CSI provisioner secrets: csi.storage.k8s.io/<op>-secret-name + <op>-secret-namespace.
    params = obj.raw.get("parameters") or {}
    for key, value in params.items():
        if isinstance(key, str) and key.endswith("-secret-name"):
            ns_value = params.get(key[: -len("-name")] + "-namespace")
            refs.add("secrets", ns_value if isinstance(ns_value, str) else None, value)


@register_index("cost.references")
def _references(snap: Snapshot) -> _Refs:
    """The reference graph as a snapshot index: built once, shared by COST-001, COST-003, COST-004."""
    return _build_refs(snap)


def _build_refs(snap: Snapshot, pods_only_for_pvcs: bool = False) -> _Refs:
    """The reference graph, built once: a walk over every object except ConfigMaps and Secrets.

    Covers pod volumes (configMap, secret, projected sources, CSI/flex secretRefs, PVC claims,
    generic ephemeral volumes), env ``valueFrom`` and ``envFrom``, ``imagePullSecrets``, ServiceAccount
    ``secrets``/``imagePullSecrets``, Ingress ``tls[].secretName``, Gateway ``certificateRefs``,
    StorageClass CSI secret parameters, controller flags and ``*secret*`` annotations, and the same
    shapes inside custom resources. StatefulSet ``volumeClaimTemplates`` are handled by COST-001.
    """
    refs = _Refs()
    for obj in snap.objects:
        if obj.kind in _NO_WALK_KINDS:
            continue
        body = {k: v for k, v in obj.raw.items() if k not in ("metadata", "status")}
        # Live: only pods mount claims; a Deployment scaled to zero does not keep its PVC in use.
        _walk(body, obj.namespace, refs, with_pvcs=not pods_only_for_pvcs or obj.kind == "Pod")
        _scan_annotations(obj, refs)
        if obj.kind == "StorageClass":
            _storage_class_refs(obj, refs)
        if obj.kind == "Pod":
            for vol in obj.spec.get("volumes") or []:
                if isinstance(vol, dict) and vol.get("ephemeral") is not None:
                    refs.add("pvcs", obj.namespace, f"{obj.name}-{vol.get('name', '')}")
    return refs


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


def _subject_namespace(ctx: CheckContext, obj: K8sObject | Workload) -> str | None:
    return obj.namespace or ctx.setting("manifest_namespace")


def _namespace_subject(snap: Snapshot, ns: str | None) -> K8sObject:
    """The Namespace object, or a stand-in when the run has objects in a namespace it does not define."""
    existing = snap.get("Namespace", None, ns or "")
    if existing is not None:
        return existing
    name = ns or "(namespace not set)"
    return K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, source="")


# ---- COST-001 -----------------------------------------------------------------------------------

@check(
    id="COST-001",
    pillar="cost",
    name="Orphaned PersistentVolumeClaim",
    severity="medium",
    description="A PersistentVolumeClaim that no pod mounts (live) or no workload references (manifests) "
    "keeps its volume provisioned and billed while serving nothing.",
    remediation="Delete the claim (after taking a snapshot or backup if the data matters), or mount it "
    "from the workload that should use it.",
    mode="manifest",
    requires=("PersistentVolumeClaim", *W),
    peers={"popeye": ("POP-400",), "kor": ("PVCs",)},
)
def orphaned_pvc(ctx: CheckContext) -> Iterator[Result]:
    """Warn about PVCs nothing uses, once they are older than the grace period (default 24 h).

    Live: a claim counts as used when a pod mounts it (``volumes[].persistentVolumeClaim`` or a
    generic ephemeral volume). Manifests: when a workload template references it, or its name is
    ``<template>-<statefulset>-<ordinal>`` for a StatefulSet ``volumeClaimTemplates`` entry. A claim
    with ownerReferences has its lifecycle managed by the owner and passes. A claim without
    ``creationTimestamp`` (usual in manifests) cannot be in its grace period.
    """
    snap = ctx.snap
    if not snap.of_kind("PersistentVolumeClaim"):
        return
    refs = _build_refs(snap, pods_only_for_pvcs=True) if ctx.live else snap.index("cost.references")
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
        age = _age_hours(pvc.meta.get("creationTimestamp"), ctx.snap.now())
        if age is not None and age < grace:
            yield ctx.ok(pvc, f"unused but created {age:.1f} h ago, within the {grace:g} h grace period")
            continue
        where = "no pod mounts it" if ctx.live else "no workload in the run references it"
        yield ctx.warn(pvc, f"PersistentVolumeClaim is orphaned: {where}", details={"age_hours": age})


# ---- COST-002 -----------------------------------------------------------------------------------

@check(
    id="COST-002",
    pillar="cost",
    name="Unbound PersistentVolume",
    severity="medium",
    description="A PersistentVolume that is Available (never claimed) or Released with reclaimPolicy Retain "
    "still holds provisioned storage that is billed but unused.",
    remediation="Delete Released volumes after recovering any data you need, and remove pre-provisioned "
    "volumes nobody claims; prefer reclaimPolicy Delete for dynamically provisioned storage.",
    mode="live",
    requires=("PersistentVolume",),
    peers={"popeye": ("POP-1000",), "kor": ("PVs",)},
)
def unbound_pv(ctx: CheckContext) -> Iterator[Result]:
    """Failing for Released volumes kept by ``Retain``; warning for Available ones; passing otherwise."""
    for pv in ctx.snap.of_kind("PersistentVolume"):
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


# ---- COST-003 / COST-004 ------------------------------------------------------------------------

@check(
    id="COST-003",
    pillar="cost",
    name="Unused ConfigMap",
    severity="low",
    description="A ConfigMap that no pod, workload or other object references is clutter: it confuses "
    "operators, and stale configuration gets mounted by mistake later.",
    remediation="Delete the ConfigMap if nothing reads it through the API; otherwise exempt it.",
    mode="manifest",
    requires=("ConfigMap", *W),
    peers={"popeye": ("POP-400", "POP-401"), "kor": ("ConfigMaps",)},
)
def unused_configmap(ctx: CheckContext) -> Iterator[Result]:
    """Warn about ConfigMaps nothing references; never failing (the graph cannot see API readers).

    References come from the full graph of :func:`_build_refs`. Skipped (exempt): ConfigMaps with
    ownerReferences and those matching the built-in allow-list ``checks/data/unused_allowlist.yaml``
    (``kube-root-ca.crt``, kubeadm/EKS/GKE system maps, Helm storage, leader-election locks...).
    """
    if not ctx.snap.of_kind("ConfigMap"):
        return
    refs = ctx.snap.index("cost.references")
    for cm in ctx.snap.of_kind("ConfigMap"):
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


@check(
    id="COST-004",
    pillar="cost",
    name="Unused Secret",
    severity="low",
    description="A Secret that nothing references is an unmanaged credential: it is clutter, and it may still "
    "grant access long after its consumer is gone.",
    remediation="Delete the Secret (and revoke the credential) if nothing reads it through the API; "
    "otherwise exempt it.",
    mode="manifest",
    requires=("Secret", "ServiceAccount", "Ingress", *W),
    peers={"popeye": ("POP-400",), "kor": ("Secrets",)},
)
def unused_secret(ctx: CheckContext) -> Iterator[Result]:
    """Warn about Secrets nothing references; never failing. Reads only Secret metadata and ``type``.

    Skipped (exempt): service-account tokens of an existing ServiceAccount, Helm release storage,
    bootstrap tokens, cert-manager managed Secrets (``cert-manager.io/certificate-name``), Secrets with
    ownerReferences, and the built-in allow-list. A token whose ServiceAccount is gone is a warning.
    """
    snap = ctx.snap
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


# ---- COST-005 -----------------------------------------------------------------------------------

def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int] | None:
    """Ready endpoint count per Service, from EndpointSlices (or legacy Endpoints); None if neither listed."""
    slices = snap.of_kind("EndpointSlice")
    if slices:
        counts: dict[tuple[str | None, str], int] = defaultdict(int)
        for es in slices:
            svc = es.labels.get("kubernetes.io/service-name")
            if not svc:
                continue
            for ep in es.raw.get("endpoints") or []:
                # ready unset means ready (discovery.k8s.io/v1 semantics)
                if (ep.get("conditions") or {}).get("ready") is not False:
                    counts[(es.namespace, svc)] += len(ep.get("addresses") or [])
        return counts
    endpoints = snap.of_kind("Endpoints")
    if endpoints:
        return {
            (ep.namespace, ep.name): sum(len(s.get("addresses") or []) for s in ep.raw.get("subsets") or [])
            for ep in endpoints
        }
    return None


@check(
    id="COST-005",
    pillar="cost",
    name="Idle LoadBalancer Service",
    severity="high",
    description="A LoadBalancer Service provisions a billed cloud load balancer; without ready endpoints it "
    "serves nothing and costs money every hour.",
    remediation="Delete the Service, or fix its selector so it selects running pods.",
    mode="manifest",
    requires=("Service", "EndpointSlice"),
    peers={"popeye": ("POP-1103", "POP-1105"), "kor": ("Services",)},
)
def idle_load_balancer(ctx: CheckContext) -> Iterator[Result]:
    """Failing when a ``type: LoadBalancer`` Service has no ready endpoints (live) or its selector matches
    no workload in the run (manifests) — the catalogue row asks for ``failing`` in both modes.

    A selector-less Service has hand-managed endpoints: in manifests it passes when an EndpointSlice or
    Endpoints object for it is in the run, and is a warning (cannot be proven) otherwise.
    """
    snap = ctx.snap
    ready = _ready_endpoints(snap) if ctx.live else None
    manual = {(o.namespace, o.labels.get("kubernetes.io/service-name") or o.name)
              for o in snap.of_kind("EndpointSlice", "Endpoints")}
    for svc in snap.of_kind("Service"):
        if svc.spec.get("type") != "LoadBalancer":
            continue
        selector = svc.spec.get("selector") or {}
        if ctx.live:
            count = (ready or {}).get((svc.namespace, svc.name), 0)
            if count:
                yield ctx.ok(svc, f"{count} ready endpoint(s)")
            else:
                yield ctx.fail(svc, "LoadBalancer Service has no ready endpoints")
        elif not selector:
            if (svc.namespace, svc.name) in manual:
                yield ctx.ok(svc, "selector-less Service with endpoints defined in the run")
            else:
                yield ctx.warn(svc, "selector-less LoadBalancer Service: its endpoints are not in the run")
        else:
            matched = snap.select_workloads(svc.namespace, {"matchLabels": selector})
            matched = [w for w in matched if service_selector_matches(selector, w.pod_labels)]
            if matched:
                yield ctx.ok(svc, f"selects {matched[0].obj.ref}")
            else:
                yield ctx.fail(svc, "LoadBalancer Service selector matches no workload", details={"selector": selector})


# ---- COST-006 -----------------------------------------------------------------------------------

def _last_change(obj: K8sObject) -> datetime | None:
    times = [_parse_time(m.get("time")) for m in obj.meta.get("managedFields") or [] if isinstance(m, dict)]
    times = [t for t in times if t is not None]
    if times:
        return max(times)
    return _parse_time(obj.meta.get("creationTimestamp"))


@check(
    id="COST-006",
    pillar="cost",
    name="Workload scaled to zero",
    severity="low",
    description="A Deployment or StatefulSet left at zero replicas without an autoscaler is usually abandoned: "
    "its PVCs, Services, Secrets and load balancers keep costing money.",
    remediation="Delete the workload and what only it uses, or put it under an HPA/KEDA ScaledObject if "
    "scale-to-zero is intended.",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "HorizontalPodAutoscaler"),
    peers={"popeye": ("POP-500",), "kor": ("Deployments", "StatefulSets")},
)
def scaled_to_zero(ctx: CheckContext) -> Iterator[Result]:
    """Warn about ``spec.replicas: 0`` without an HPA or KEDA ScaledObject targeting the workload.

    Live: only when the last change (newest ``managedFields`` time, else creation) is older than the
    threshold (``scaled_to_zero_days``, default 7). Manifests have no history: the catalogue asks for an
    informational result, and since results have no ``info`` state it is a warning with a message saying
    the age is unknown.
    """
    snap = ctx.snap
    keda = {
        ((so.spec.get("scaleTargetRef") or {}).get("kind") or "Deployment", so.namespace,
         (so.spec.get("scaleTargetRef") or {}).get("name"))
        for so in snap.of_kind("ScaledObject")
    }
    days = float(ctx.setting("scaled_to_zero_days", 7))
    for obj in snap.of_kind("Deployment", "StatefulSet"):
        replicas = obj.spec.get("replicas")
        if replicas is not None and as_int(replicas) is None:
            yield ctx.error(obj, f"spec.replicas {replicas!r} is not an integer")
            continue
        if replicas is None or as_int(replicas) != 0:
            yield ctx.ok(obj)
            continue
        if snap.hpa_for(obj) is not None or (obj.kind, obj.namespace, obj.name) in keda:
            yield ctx.ok(obj, "zero replicas managed by an autoscaler")
            continue
        if not ctx.live:
            yield ctx.warn(obj, "scaled to zero replicas without an autoscaler (how long is unknown in manifests)")
            continue
        changed = _last_change(obj)
        age_days = None if changed is None else (ctx.snap.now() - changed).total_seconds() / 86400
        if age_days is not None and age_days < days:
            yield ctx.ok(obj, f"scaled to zero {age_days:.1f} days ago, within {days:g} days")
        else:
            when = "for an unknown time" if age_days is None else f"for {age_days:.0f} days"
            yield ctx.warn(obj, f"scaled to zero {when} without an autoscaler", details={"days": age_days})


# ---- COST-007 -----------------------------------------------------------------------------------

def _finished_at(job: K8sObject) -> datetime | None:
    status = job.status
    if status.get("completionTime"):
        return _parse_time(status["completionTime"])
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return _parse_time(cond.get("lastTransitionTime"))
    return None


@check(
    id="COST-007",
    pillar="cost",
    name="Finished Jobs retained",
    severity="low",
    description="Finished Jobs and their pods stay in etcd until deleted; without a TTL or history limit they "
    "pile up, slowing the API server and every controller that lists them.",
    remediation="Set spec.ttlSecondsAfterFinished on standalone Jobs and keep CronJob history limits at or "
    "below the defaults (successful 3, failed 1).",
    mode="manifest",
    requires=("Job", "CronJob"),
    peers={"kube-linter": ("job-ttl-seconds-after-finished",), "kor": ("Jobs",)},
)
def finished_jobs_retained(ctx: CheckContext) -> Iterator[Result]:
    """Warn about standalone Jobs without ``ttlSecondsAfterFinished``, CronJobs whose history limits exceed
    the defaults (3 successful / 1 failed) and, live, standalone Jobs finished more than
    ``finished_job_days`` (default 7) ago. Jobs owned by a CronJob are governed by its history limits, so
    their age is not judged here.
    """
    days = float(ctx.setting("finished_job_days", 7))
    for w in ctx.snap.workloads():
        problems: list[str] = []
        if w.kind == "Job":
            if w.obj.spec.get("ttlSecondsAfterFinished") is None:
                problems.append("standalone Job without ttlSecondsAfterFinished")
            if ctx.live:
                done = _finished_at(w.obj)
                if done is not None and (ctx.snap.now() - done).total_seconds() > days * 86400:
                    problems.append(f"finished more than {days:g} days ago and still retained")
        elif w.kind == "CronJob":
            spec = w.obj.spec
            for key, default in (("successfulJobsHistoryLimit", 3), ("failedJobsHistoryLimit", 1)):
                value = spec.get(key)
                if value is not None and (as_int(value) is None or as_int(value) > default):
                    problems.append(f"{key} {value} is above the default {default}")
        else:
            continue
        if problems:
            yield ctx.warn(w, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(w)


# ---- COST-008 -----------------------------------------------------------------------------------

def _pod_metrics(metrics: dict[str, Any], pod: K8sObject) -> dict[str, Any] | None:
    pods = metrics.get("pods") or {}
    return pods.get(f"{pod.namespace}/{pod.name}") or pods.get((pod.namespace, pod.name))


@check(
    id="COST-008",
    pillar="cost",
    name="Over-provisioned requests",
    severity="medium",
    description="Requests reserve node capacity whether used or not; containers that use a small fraction of "
    "what they request make the cluster buy nodes for idle reservations.",
    remediation="Lower the requests towards observed usage plus headroom (a VPA in recommendation mode or "
    "Goldilocks gives data over time).",
    mode="live+metrics",
    requires=("Pod", *W),
    peers={"popeye": ("POP-504", "POP-506")},
)
def over_provisioned(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a workload's containers use < 20 % of their CPU request or < 30 % of their memory request
    (``overprovision_cpu_ratio`` / ``overprovision_memory_ratio``), averaged over the workload's pods.

    One metrics snapshot is a point in time, so every warning is marked low confidence in ``details``.
    Workloads without running pods in the metrics, or without requests, are skipped (not-applicable).
    """
    snap = ctx.snap
    metrics = snap.metrics or {}
    cpu_ratio = float(ctx.setting("overprovision_cpu_ratio", 0.2))
    mem_ratio = float(ctx.setting("overprovision_memory_ratio", 0.3))
    for w in snap.workloads():
        pods = [w.obj] if w.kind == "Pod" else snap.pods_of(w.obj)
        samples = [m for m in (_pod_metrics(metrics, p) for p in pods) if m]
        if not samples:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no pod metrics for this workload")
            continue
        findings: list[dict[str, Any]] = []
        judged = False
        for c in w.long_running_containers():
            name = c.get("name", "?")
            usage = [s[name] for s in samples if name in s]
            if not usage:
                continue
            for resource, ratio in (("cpu", cpu_ratio), ("memory", mem_ratio)):
                request = _quantity(container_resource(c, "requests", resource))
                if not request:
                    continue
                judged = True
                used = sum(float(u.get(resource) or 0) for u in usage) / len(usage)
                if used < ratio * request:
                    findings.append({"container": name, "resource": resource, "request": request, "usage": used,
                                     "ratio": round(used / request, 3)})
        if not judged:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no container with requests and metrics")
        elif findings:
            text = ", ".join(f"{f['container']} {f['resource']} {f['ratio']:.1%} of request" for f in findings)
            yield ctx.warn(w, f"usage far below requests (single snapshot, low confidence): {text}",
                           container=findings[0]["container"], details={"confidence": "low", "findings": findings})
        else:
            yield ctx.ok(w)


# ---- COST-009 / COST-010 ------------------------------------------------------------------------

def _workload_namespaces(ctx: CheckContext) -> dict[str | None, list[Workload]]:
    out: dict[str | None, list[Workload]] = defaultdict(list)
    for w in ctx.snap.workloads():
        out[_subject_namespace(ctx, w)].append(w)
    return out


def _namespace_subjects(ctx: CheckContext) -> Iterator[tuple[K8sObject, str | None, bool]]:
    """``(subject, namespace, has_workloads)`` for every namespace with workloads or a Namespace object."""
    with_workloads = _workload_namespaces(ctx)
    seen: set[str | None] = set()
    for ns in with_workloads:
        seen.add(ns)
        yield _namespace_subject(ctx.snap, ns), ns, True
    for obj in ctx.snap.of_kind("Namespace"):
        if obj.name not in seen:
            yield obj, obj.name, False


_QUOTA_KEYS = {"requests.cpu": ("requests.cpu", "cpu"), "requests.memory": ("requests.memory", "memory"),
               "limits.memory": ("limits.memory",)}


@check(
    id="COST-009",
    pillar="cost",
    name="Namespace without ResourceQuota",
    severity="medium",
    description="Without a ResourceQuota a namespace can request unbounded capacity: one runaway deployment "
    "scales the cluster (and the bill) for everyone.",
    remediation="Add a ResourceQuota that caps requests.cpu, requests.memory and limits.memory for the "
    "namespace.",
    mode="manifest",
    requires=("Namespace", "ResourceQuota", *W),
    peers={"trivy": ("KSV-0040",), "hardeneks": ("ensure_namespace_quotas_exist",)},
)
def namespace_quota(ctx: CheckContext) -> Iterator[Result]:
    """Warn for each namespace holding workloads that has no ResourceQuota, or whose quotas together do not
    cap ``requests.cpu``, ``requests.memory`` and ``limits.memory`` (``cpu``/``memory`` are aliases of the
    requests keys). Namespaces without workloads are skipped (not-applicable).
    """
    quotas: dict[str | None, list[K8sObject]] = defaultdict(list)
    for q in ctx.snap.of_kind("ResourceQuota"):
        quotas[_subject_namespace(ctx, q)].append(q)
    for subject, ns, has_workloads in _namespace_subjects(ctx):
        if not has_workloads:
            yield ctx.skip(subject, SkipReason.NOT_APPLICABLE, "namespace has no workloads")
            continue
        found = quotas.get(ns) or []
        if not found:
            yield ctx.warn(subject, "namespace has workloads but no ResourceQuota")
            continue
        hard = set()
        for q in found:
            hard.update((q.spec.get("hard") or {}).keys())
        missing = [key for key, aliases in _QUOTA_KEYS.items() if not hard.intersection(aliases)]
        if missing:
            yield ctx.warn(subject, f"ResourceQuota does not cap {', '.join(missing)}", details=missing)
        else:
            yield ctx.ok(subject)


@check(
    id="COST-010",
    pillar="cost",
    name="Namespace without LimitRange",
    severity="low",
    description="A LimitRange with default requests and limits gives containers that declare none a sensible "
    "size, so they are neither scheduled for free nor allowed to grow without bound.",
    remediation="Add a LimitRange of type Container with default and defaultRequest values.",
    mode="manifest",
    requires=("Namespace", "LimitRange", *W),
    peers={"trivy": ("KSV-0039",)},
)
def namespace_limit_range(ctx: CheckContext) -> Iterator[Result]:
    """Warn for each namespace holding workloads without a LimitRange whose ``type: Container`` item sets both
    ``default`` and ``defaultRequest``. Namespaces without workloads are skipped (not-applicable), as in
    COST-009.
    """
    good: set[str | None] = set()
    present: set[str | None] = set()
    for lr in ctx.snap.of_kind("LimitRange"):
        ns = _subject_namespace(ctx, lr)
        present.add(ns)
        for item in lr.spec.get("limits") or []:
            if item.get("type") == "Container" and item.get("default") and item.get("defaultRequest"):
                good.add(ns)
    for subject, ns, has_workloads in _namespace_subjects(ctx):
        if not has_workloads:
            yield ctx.skip(subject, SkipReason.NOT_APPLICABLE, "namespace has no workloads")
        elif ns in good:
            yield ctx.ok(subject)
        elif ns in present:
            yield ctx.warn(subject, "LimitRange has no Container item with both default and defaultRequest")
        else:
            yield ctx.warn(subject, "namespace has workloads but no LimitRange")


# ---- COST-011 -----------------------------------------------------------------------------------

def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@check(
    id="COST-011",
    pillar="cost",
    name="Cost-allocation labels missing",
    severity="low",
    description="Cost tools (Kubecost, OpenCost, cloud split billing) allocate spend by labels; unlabelled "
    "workloads end up in an 'unallocated' bucket nobody owns.",
    remediation="Label workloads with app.kubernetes.io/name and an owner label (team, owner or cost-center), "
    "on the object and its pod template; label namespaces with the owner.",
    mode="manifest",
    requires=("Namespace", *W),
    peers={"kube-linter": ("required-label-owner",), "kubescape": ("C-0076",)},
)
def cost_labels(ctx: CheckContext) -> Iterator[Result]:
    """Warn listing missing keys: every key of ``cost_labels`` plus one of ``cost_owner_labels``.

    Workload labels count from the object or its pod template (cost tools read pod labels). An owner label
    on the workload's Namespace object covers the workload, since the tools fall back to namespace labels.
    Namespaces are checked for the owner label only: ``app.kubernetes.io/name`` describes an application,
    not a namespace.
    """
    required = _as_list(ctx.setting("cost_labels", ["app.kubernetes.io/name"]))
    owners = _as_list(ctx.setting("cost_owner_labels", ["team", "owner", "cost-center"]))
    ns_labels = {ns.name: ns.labels for ns in ctx.snap.of_kind("Namespace")}
    owner_text = "one of " + "/".join(owners)
    for w in ctx.snap.workloads():
        labels = {**w.pod_labels, **w.obj.labels}
        missing = [k for k in required if k not in labels]
        inherited = ns_labels.get(w.namespace or "", {})
        if owners and not any(k in labels or k in inherited for k in owners):
            missing.append(owner_text)
        if missing:
            yield ctx.warn(w, f"missing cost-allocation label(s): {', '.join(missing)}", details=missing)
        else:
            yield ctx.ok(w)
    for ns in ctx.snap.of_kind("Namespace"):
        if owners and not any(k in ns.labels for k in owners):
            yield ctx.warn(ns, f"namespace has no owner label ({owner_text})", details=[owner_text])
        else:
            yield ctx.ok(ns)


# ---- COST-012 -----------------------------------------------------------------------------------

_EBS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
_ZONAL = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs", "pd.csi.storage.gke.io", "kubernetes.io/gce-pd",
          "disk.csi.azure.com", "kubernetes.io/azure-disk", "cinder.csi.openstack.org", "kubernetes.io/cinder")
_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def _zonal(provisioner: str, params: dict[str, Any]) -> bool:
    if provisioner not in _ZONAL:
        return False
    if "regional" in str(params.get("replication-type", "")).lower():
        return False  # GCE regional PD replicates across two zones
    return "zrs" not in str(params.get("skuName", params.get("skuname", ""))).lower()  # Azure zone-redundant


@check(
    id="COST-012",
    pillar="cost",
    name="StorageClass cost settings",
    severity="low",
    description="StorageClass parameters decide what every new volume costs: gp2 costs ~20% more than gp3, "
    "a default class that retains volumes leaks storage, and Immediate binding of zonal disks can create "
    "volumes in a zone where the pod cannot run.",
    remediation="Use type gp3 for EBS, reclaimPolicy Delete for the default class, and "
    "volumeBindingMode WaitForFirstConsumer for zonal block storage.",
    mode="manifest",
    requires=("StorageClass",),
    peers={},
)
def storage_class_cost(ctx: CheckContext) -> Iterator[Result]:
    """Warn on EBS ``type: gp2`` (also the in-tree ``kubernetes.io/aws-ebs`` default when type is unset),
    on a default class with ``reclaimPolicy: Retain``, and on ``volumeBindingMode: Immediate`` (the default
    when unset) for zonal block storage (EBS, GCE PD except regional, Azure Disk except ZRS, Cinder).
    """
    for sc in ctx.snap.of_kind("StorageClass"):
        provisioner = sc.raw.get("provisioner") or ""
        params = sc.raw.get("parameters") or {}
        problems: list[str] = []
        if provisioner in _EBS:
            volume_type = str(params.get("type") or ("gp2" if provisioner == "kubernetes.io/aws-ebs" else "gp3"))
            if volume_type.lower() == "gp2":
                problems.append("EBS type gp2: gp3 is ~20% cheaper with better baseline performance")
        is_default = any(str(sc.annotations.get(a, "")).lower() == "true" for a in _DEFAULT_CLASS)
        if is_default and sc.raw.get("reclaimPolicy") == "Retain":
            problems.append("default StorageClass with reclaimPolicy Retain: deleted claims leave billed volumes")
        if _zonal(provisioner, params) and (sc.raw.get("volumeBindingMode") or "Immediate") == "Immediate":
            problems.append("volumeBindingMode Immediate on zonal storage: use WaitForFirstConsumer")
        if problems:
            yield ctx.warn(sc, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(sc)


# ---- COST-013 -----------------------------------------------------------------------------------

def _pod_requests(pod_spec: dict[str, Any]) -> tuple[float, float]:
    """Effective pod request (cores, bytes): max(Σ long-running, largest init step) + overhead."""

    def req(c: dict[str, Any], resource: str) -> float:
        return _quantity(container_resource(c, "requests", resource)) or 0.0

    out = []
    for resource in ("cpu", "memory"):
        inits = pod_spec.get("initContainers") or []
        sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
        regular = sum(req(c, resource) for c in pod_spec.get("containers") or [])
        running = regular + sum(req(c, resource) for c in sidecars)
        init_peak = 0.0
        started = 0.0
        for c in inits:
            if c.get("restartPolicy") == "Always":
                started += req(c, resource)
            else:
                init_peak = max(init_peak, started + req(c, resource))
        overhead = _quantity((pod_spec.get("overhead") or {}).get(resource)) or 0.0
        out.append(max(running, init_peak) + overhead)
    return out[0], out[1]


def _is_control_plane(node: K8sObject) -> bool:
    labels = node.labels
    return "node-role.kubernetes.io/control-plane" in labels or "node-role.kubernetes.io/master" in labels


@check(
    id="COST-013",
    pillar="cost",
    name="Idle cluster capacity",
    severity="medium",
    description="Nodes are billed for their full size; when pods request only a small share of the "
    "allocatable capacity, the cluster pays for idle machines.",
    remediation="Enable consolidation (Karpenter) or scale-down (cluster-autoscaler), use smaller or fewer "
    "nodes, and right-size requests so bin-packing can work.",
    mode="live",
    requires=("Node", "Pod"),
    peers={},
)
def idle_capacity(ctx: CheckContext) -> Iterator[Result]:
    """One cluster-level result: warning when Σ pod requests is below ``idle_capacity_ratio`` (default 0.5)
    of Σ allocatable, for CPU or memory, over schedulable nodes.

    Schedulable excludes cordoned nodes and control-plane nodes (their capacity is not for workloads);
    pods count when bound to such a node and not Succeeded/Failed.
    """
    ratio = float(ctx.setting("idle_capacity_ratio", 0.5))
    nodes = {
        n.name: n for n in ctx.snap.of_kind("Node") if not n.spec.get("unschedulable") and not _is_control_plane(n)
    }
    if not nodes:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no schedulable worker nodes")
        return
    alloc = Counter()
    for node in nodes.values():
        allocatable = node.status.get("allocatable") or {}
        alloc["cpu"] += _quantity(allocatable.get("cpu")) or 0.0
        alloc["memory"] += _quantity(allocatable.get("memory")) or 0.0
    used = Counter()
    for pod in ctx.snap.of_kind("Pod"):
        if pod.spec.get("nodeName") not in nodes or pod.status.get("phase") in ("Succeeded", "Failed"):
            continue
        cpu, mem = _pod_requests(pod.spec)
        used["cpu"] += cpu
        used["memory"] += mem
    shares = {r: (used[r] / alloc[r] if alloc[r] else None) for r in ("cpu", "memory")}
    details = {"nodes": len(nodes), "requested": dict(used), "allocatable": dict(alloc), "ratio": shares}
    low = [f"{r} {s:.0%}" for r, s in shares.items() if s is not None and s < ratio]
    if low:
        yield ctx.warn(None, f"requests use only {', '.join(low)} of allocatable capacity on {len(nodes)} node(s)",
                       details=details)
    else:
        yield ctx.ok(None, "requested share of allocatable: "
                     + ", ".join(f"{r} {s:.0%}" for r, s in shares.items() if s is not None), details=details)


