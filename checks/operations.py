"""Operational-excellence checks (OPS-xxx): namespaces, labels, API versions, versions, spec hygiene, RBAC."""

from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checks.context import CheckContext
from checks.k8s import as_int, parse_image, selector_matches, service_selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import CLUSTER_SCOPED_KINDS, WORKLOAD_KINDS, K8sObject, Workload, pod_template

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)
DATA_DIR = Path(__file__).parent / "data"
EXEMPT_BUILTIN = f"{SkipReason.EXEMPT_PREFIX}built-in"
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
    return _minor(ctx.setting("server_version") or ctx.snap.server_version)


# ---- OPS-001 ------------------------------------------------------------------------------------

# Cluster-scoped kinds beyond the snapshot's list; custom resources are resolved from CRDs in the run.
_EXTRA_CLUSTER_SCOPED = frozenset(
    {
        "PodSecurityPolicy", "VolumeAttachment", "CSINode", "CertificateSigningRequest", "FlowSchema",
        "PriorityLevelConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "ComponentStatus", "IPAddress", "ServiceCIDR",
        "VolumeSnapshotClass", "VolumeSnapshotContent", "GatewayClass", "ClusterIssuer", "NodePool", "EC2NodeClass",
        "ConstraintTemplate", "ResourceSlice", "DeviceClass", "StorageVersion", "StorageVersionMigration",
        "TokenReview", "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
        "SelfSubjectReview", "ClusterTrustBundle", "AuditSink",
    }
)
_CLUSTER_SCOPED_GROUPS = ("constraints.gatekeeper.sh/",)
_DEFAULT_NS_EXEMPT = {("Service", "kubernetes"), ("EndpointSlice", "kubernetes"), ("Endpoints", "kubernetes"),
                      ("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
_IGNORED_KINDS = frozenset({"Event", "Lease"})


def _crd_scopes(ctx: CheckContext) -> dict[str, str]:
    scopes = {}
    for crd in ctx.snap.of_kind("CustomResourceDefinition"):
        kind = (crd.spec.get("names") or {}).get("kind")
        if kind:
            scopes[kind] = crd.spec.get("scope") or "Namespaced"
    return scopes


def _cluster_scoped(obj: K8sObject, crd_scopes: dict[str, str]) -> bool:
    if obj.kind in CLUSTER_SCOPED_KINDS or obj.kind in _EXTRA_CLUSTER_SCOPED:
        return True
    if obj.kind in crd_scopes:
        return crd_scopes[obj.kind] == "Cluster"
    return obj.kind.startswith("Cluster") or obj.api_version.startswith(_CLUSTER_SCOPED_GROUPS)


@check(
    id="OPS-001",
    pillar="operational-excellence",
    name="Default namespace used",
    severity="low",
    description="The default namespace has no owner, quota or policy of its own; objects there mix with "
    "everyone else's and are easy to break or delete by accident.",
    remediation="Give every application its own namespace and set metadata.namespace in its manifests.",
    mode="manifest",
    requires=(),
    peers={
        "checkov": ("CKV_K8S_21",),
        "kube-linter": ("use-namespace",),
        "kubescape": ("C-0061", "C-0212"),
        "trivy": ("KSV-0110",),
    },
)
def default_namespace(ctx: CheckContext) -> Iterator[Result]:
    """Failing for namespaced objects in ``default``; in manifests, warning when ``metadata.namespace`` is
    omitted (it is resolved at apply time) unless ``manifest_namespace`` says which namespace is assumed.

    An explicit ``namespace: default`` in a manifest fails too (as Checkov CKV_K8S_21 does). Exempt
    (skipped): Service/EndpointSlice/Endpoints ``kubernetes``, ServiceAccount ``default``, ConfigMap
    ``kube-root-ca.crt``. Live objects owned by a controller are reported through their owner; Events and
    Leases are not assessed.
    """
    crd_scopes = _crd_scopes(ctx)
    assumed = ctx.setting("manifest_namespace")
    for obj in ctx.snap.objects:
        if obj.kind in _IGNORED_KINDS or not obj.kind:
            continue
        if ctx.live:
            if obj.controller_ref is not None or not obj.meta.get("namespace"):
                continue
        elif _cluster_scoped(obj, crd_scopes):
            continue
        ns = obj.namespace
        if ns is None and not ctx.live:
            if not assumed:
                yield ctx.warn(obj, "metadata.namespace omitted: the namespace is decided at apply time")
                continue
            ns = assumed
        if ns != "default":
            yield ctx.ok(obj)
        elif (obj.kind, obj.name) in _DEFAULT_NS_EXEMPT:
            yield ctx.skip(obj, EXEMPT_BUILTIN, "object Kubernetes itself keeps in the default namespace")
        else:
            yield ctx.fail(obj, "object is in the default namespace")


# ---- OPS-002 ------------------------------------------------------------------------------------

_SYSTEM_PRIORITY = ("system-node-critical", "system-cluster-critical")
_CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd",
                             "cloud-controller-manager")
_SYSTEM_LABEL_KEYS = ("k8s-app", "addonmanager.kubernetes.io/mode", "eks.amazonaws.com/component",
                      "kubernetes.azure.com/managedby")
_KUBE_SYSTEM_NAMES = (
    "coredns", "kube-dns*", "kube-proxy", "aws-node", "ebs-csi-*", "efs-csi-*", "fsx-csi-*", "metrics-server",
    "cluster-autoscaler*", "calico-*", "cilium*", "konnectivity-agent*", "kube-flannel*", "etcd-*",
    "kube-apiserver-*", "kube-controller-manager-*", "kube-scheduler-*", "aws-load-balancer-controller",
    "karpenter", "vpa-*", "descheduler*", "csi-*", "snapshot-controller", "node-local-dns", "eks-pod-identity-agent",
    "azure-*", "gke-*", "pdcsi-*", "fluentbit-gke*", "sealed-secrets*", "kube-state-metrics",
)


def _recognised_system(w: Workload, extra: list[str]) -> str | None:
    labels = {**w.pod_labels, **w.obj.labels}
    if w.pod_spec.get("priorityClassName") in _SYSTEM_PRIORITY:
        return f"priorityClassName {w.pod_spec['priorityClassName']}"
    if labels.get("tier") == "control-plane" or labels.get("component") in _CONTROL_PLANE_COMPONENTS:
        return "control-plane labels"
    if labels.get("kubernetes.io/cluster-service") == "true":
        return "kubernetes.io/cluster-service label"
    for key in _SYSTEM_LABEL_KEYS:
        if key in labels:
            return f"{key} label"
    for pattern in (*_KUBE_SYSTEM_NAMES, *extra):
        if fnmatch.fnmatchcase(w.name, pattern):
            return f"allow-listed name ({pattern})"
    return None


@check(
    id="OPS-002",
    pillar="operational-excellence",
    name="User workloads in kube-system",
    severity="low",
    description="kube-system holds the cluster's own components and is exempted from many policies; "
    "application workloads there escape those controls and share the blast radius of the control plane.",
    remediation="Move application workloads to their own namespace; allow-list genuine add-ons in the "
    "kube_system_allowlist setting.",
    mode="manifest",
    requires=W,
    peers={"trivy": ("KSV-0037",)},
)
def kube_system_workloads(ctx: CheckContext) -> Iterator[Result]:
    """Warn about workloads in ``kube-system`` that are not recognised system components.

    Recognised: ``system-node-critical``/``system-cluster-critical`` priority, control-plane labels
    (``tier: control-plane``, ``component: kube-apiserver``...), add-on labels (``k8s-app``,
    ``addonmanager.kubernetes.io/mode``, ``kubernetes.io/cluster-service``, EKS/AKS component labels), a
    built-in list of well-known add-on names, and the globs of the ``kube_system_allowlist`` setting.
    Only kube-system workloads produce results.
    """
    extra = [str(x) for x in ctx.setting("kube_system_allowlist", []) or []]
    for w in ctx.snap.workloads():
        if w.namespace != "kube-system":
            continue
        why = _recognised_system(w, extra)
        if why:
            yield ctx.ok(w, f"recognised system component: {why}")
        else:
            yield ctx.warn(w, "workload in kube-system is not a recognised system component")


# ---- OPS-003 ------------------------------------------------------------------------------------

@check(
    id="OPS-003",
    pillar="operational-excellence",
    name="Recommended labels missing",
    severity="info",
    description="The app.kubernetes.io/* labels let dashboards, cost tools and humans group objects by "
    "application and release; without them ownership has to be guessed.",
    remediation="Add app.kubernetes.io/name and app.kubernetes.io/instance (and version, component, part-of, "
    "managed-by where useful) to workloads and Services.",
    mode="manifest",
    requires=(*W, "Service"),
    peers={
        "polaris": ("metadataAndInstanceMismatched",),
        "kube-linter": ("required-label-owner",),
        "kubescape": ("C-0077", "C-0076"),
    },
)
def recommended_labels(ctx: CheckContext) -> Iterator[Result]:
    """Warn listing the missing keys of ``required_labels`` (default name + instance) plus any of
    ``recommended_labels_extra`` on workloads and Services (object metadata labels). With
    ``check_instance_matches_name: true``, also warn when ``app.kubernetes.io/instance`` differs from
    ``metadata.name`` (Polaris metadataAndInstanceMismatched); off by default because Helm sets the
    instance to the release name.
    """
    required = [str(x) for x in ctx.setting("required_labels", ["app.kubernetes.io/name",
                                                                "app.kubernetes.io/instance"]) or []]
    required += [str(x) for x in ctx.setting("recommended_labels_extra", []) or [] if str(x) not in required]
    match_name = bool(ctx.setting("check_instance_matches_name", False))
    subjects: list[Workload | K8sObject] = [*ctx.snap.workloads(), *ctx.snap.of_kind("Service")]
    for subject in subjects:
        obj = subject.obj if isinstance(subject, Workload) else subject
        labels = obj.labels
        problems = [f"missing label {k}" for k in required if k not in labels]
        instance = labels.get("app.kubernetes.io/instance")
        if match_name and instance is not None and instance != obj.name:
            problems.append(f"app.kubernetes.io/instance {instance!r} differs from metadata.name")
        if problems:
            yield ctx.warn(subject, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(subject)


# ---- OPS-004 ------------------------------------------------------------------------------------

@cache
def _deprecations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(e["apiVersion"]), str(e["kind"])): e for e in _data("deprecations.yaml").get("apis") or []}


@check(
    id="OPS-004",
    pillar="operational-excellence",
    name="Deprecated or removed API version",
    severity="high",
    description="Objects written against a removed apiVersion fail to apply after an upgrade (and break "
    "Helm releases); deprecated versions will be removed in a coming minor.",
    remediation="Migrate the manifest to the replacement apiVersion (kubectl convert or pluto help) before "
    "upgrading the cluster.",
    mode="manifest",
    requires=(),
    peers={
        "kube-score": ("stable-version",),
        "kube-linter": ("no-extensions-v1beta",),
        "trivy": ("KSV-0107",),
        "popeye": ("POP-403",),
    },
)
def deprecated_api(ctx: CheckContext) -> Iterator[Result]:
    """Failing when the object's apiVersion/kind is removed in the target version, warning when it is
    deprecated there, passing otherwise, using ``checks/data/deprecations.yaml``.

    Target version: the ``kubernetes_version`` setting, else the live server version, else 1.31. Live
    objects owned by a controller are reported through their owner.
    """
    target = _minor(ctx.setting("kubernetes_version", None) or ctx.snap.server_version) or _minor(
        DEFAULT_TARGET_VERSION
    )
    assert target is not None
    table = _deprecations()
    for obj in ctx.snap.objects:
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


# ---- OPS-005 ------------------------------------------------------------------------------------

@check(
    id="OPS-005",
    pillar="operational-excellence",
    name="imagePullPolicy inconsistent with tag",
    severity="low",
    description="With a mutable tag (latest or none) and IfNotPresent/Never, each node runs whatever it "
    "pulled first: replicas silently run different code and rollouts do not pick up new images.",
    remediation="Pin the image to a version tag or digest; otherwise use imagePullPolicy: Always "
    "(or leave it unset, which defaults to Always for latest).",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("pullPolicyNotAlways",),
        "kube-score": ("container-image-pull-policy",),
        "checkov": ("CKV_K8S_15",),
        "kubescape": ("C-0075",),
    },
)
def pull_policy(ctx: CheckContext) -> Iterator[Result]:
    """Failing when a container in C has a mutable image reference (``latest`` or no tag, no digest) and an
    explicit ``imagePullPolicy`` of ``IfNotPresent`` or ``Never``; passing otherwise (§1: Always is not
    required for immutable tags, and unset defaults to Always for mutable ones).
    """
    for w in ctx.snap.workloads():
        bad = []
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image:
                continue
            if parse_image(str(image)).mutable and c.get("imagePullPolicy") in ("IfNotPresent", "Never"):
                bad.append(c.get("name", "?"))
        if bad:
            yield ctx.fail(w, f"mutable image tag with imagePullPolicy IfNotPresent/Never: {', '.join(bad)}",
                           container=bad[0], details=bad)
        else:
            yield ctx.ok(w)


# ---- OPS-006 ------------------------------------------------------------------------------------

@check(
    id="OPS-006",
    pillar="operational-excellence",
    name="Kubernetes version outdated",
    severity="medium",
    description="Upstream supports only the three most recent minors; older clusters get no security fixes "
    "and face a multi-step upgrade under pressure.",
    remediation="Plan the upgrade to a supported minor (one minor at a time for the control plane).",
    mode="live",
    requires=(),
    peers={"kubescape": ("C-0273",), "popeye": ("POP-405", "POP-406"), "hardeneks": ("check_eks_version",)},
)
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


# ---- OPS-007 ------------------------------------------------------------------------------------

@check(
    id="OPS-007",
    pillar="operational-excellence",
    name="Node / kubelet version skew",
    severity="medium",
    description="The version-skew policy allows kubelets up to three minors (two before 1.28) older than the "
    "API server and never newer; outside it, node behaviour is untested and upgrades break.",
    remediation="Upgrade (or replace) nodes to the control-plane minor; finish node upgrades before the next "
    "control-plane upgrade.",
    mode="live",
    requires=("Node",),
    peers={},
)
def kubelet_skew(ctx: CheckContext) -> Iterator[Result]:
    """Per node: failing when the kubelet minor is newer than the API server's or older than the allowed skew
    (3 minors from server 1.28, 2 before); warning when kubelet minors are mixed across nodes and this node
    is behind the newest one (an unfinished upgrade); passing otherwise.
    """
    server = _server_version(ctx)
    nodes = [(n, _minor((n.status.get("nodeInfo") or {}).get("kubeletVersion"))) for n in ctx.snap.of_kind("Node")]
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


# ---- OPS-008 ------------------------------------------------------------------------------------

def _dupes(items: list[str]) -> list[str]:
    return sorted(k for k, n in Counter(items).items() if n > 1)


def _named_ports(w: Workload) -> dict[int, str]:
    out: dict[int, str] = {}
    for c in w.containers():
        for p in c.get("ports") or []:
            number = as_int(p.get("containerPort"))
            if p.get("name") and number is not None:
                out.setdefault(number, str(p["name"]))
    return out


@check(
    id="OPS-008",
    pillar="operational-excellence",
    name="Spec hygiene",
    severity="low",
    description="Duplicate env vars and ports silently shadow each other, over-long port names are rejected "
    "when referenced, and deprecated fields and numeric target ports make specs brittle to change.",
    remediation="Remove duplicate env vars; give ports unique names of at most 15 characters; use "
    "serviceAccountName; reference container ports by name in Services.",
    mode="manifest",
    requires=(*W, "Service"),
    peers={
        "kube-score": ("environment-variable-key-duplication", "container-ports-check"),
        "kube-linter": ("duplicate-env-var", "deprecated-service-account-field", "invalid-target-ports"),
        "kubescape": ("C-0294", "C-0295"),
        "popeye": ("POP-105", "POP-108", "POP-1102"),
    },
)
def spec_hygiene(ctx: CheckContext) -> Iterator[Result]:
    """Workloads: failing for a duplicate env var name in a container, a port name longer than 15 characters,
    or a port name used twice in the pod; warning for the deprecated ``serviceAccount`` field (manifests
    only: the API server copies serviceAccountName into it on every live object).
    Services: failing for a named ``targetPort`` longer than 15 characters; warning for a numeric
    ``targetPort`` whose container port has a name (POP-1102); passing otherwise.
    """
    snap = ctx.snap
    for w in snap.workloads():
        failures: list[str] = []
        warnings: list[str] = []
        first: str | None = None
        port_names: list[str] = []
        for c in w.containers(include_ephemeral=ctx.live):
            name = c.get("name", "?")
            dup_env = _dupes([e.get("name", "") for e in c.get("env") or [] if isinstance(e, dict)])
            if dup_env:
                failures.append(f"{name}: duplicate env var(s) {', '.join(dup_env)}")
                first = first or name
            for p in c.get("ports") or []:
                pname = p.get("name")
                if pname:
                    port_names.append(str(pname))
                    if len(str(pname)) > 15:
                        failures.append(f"{name}: port name {pname!r} is longer than 15 characters")
                        first = first or name
        dup_ports = _dupes(port_names)
        if dup_ports:
            failures.append(f"duplicate port name(s) {', '.join(dup_ports)}")
        if not ctx.live and w.pod_spec.get("serviceAccount"):
            warnings.append("deprecated field serviceAccount: use serviceAccountName")
        if failures:
            yield ctx.fail(w, "; ".join(failures + warnings), container=first, details=failures + warnings)
        elif warnings:
            yield ctx.warn(w, "; ".join(warnings), details=warnings)
        else:
            yield ctx.ok(w)
    for svc in snap.of_kind("Service"):
        selector = svc.spec.get("selector") or {}
        selected = [w for w in snap.select_workloads(svc.namespace, {"matchLabels": selector})
                    if service_selector_matches(selector, w.pod_labels)] if selector else []
        named: dict[int, str] = {}
        for w in selected:
            for number, pname in _named_ports(w).items():
                named.setdefault(number, pname)
        failures, warnings = [], []
        for port in svc.spec.get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and not target.isdigit():
                if len(target) > 15:
                    failures.append(f"targetPort name {target!r} is longer than 15 characters")
            elif as_int(target) in named:
                warnings.append(f"numeric targetPort {target}: the container names it {named[as_int(target)]!r}")
        if failures:
            yield ctx.fail(svc, "; ".join(failures + warnings), details=failures + warnings)
        elif warnings:
            yield ctx.warn(svc, "; ".join(warnings), details=warnings)
        else:
            yield ctx.ok(svc)


# ---- OPS-009 ------------------------------------------------------------------------------------

def _is_empty_selector(selector: dict[str, Any] | None) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


@check(
    id="OPS-009",
    pillar="operational-excellence",
    name="Dangling NetworkPolicy",
    severity="low",
    description="A NetworkPolicy whose selectors match nothing protects nothing: usually a typo or a renamed "
    "label, and the traffic it was meant to restrict flows freely.",
    remediation="Fix the podSelector / peer selectors to match the intended pods and namespaces, or delete "
    "the policy.",
    mode="manifest",
    requires=("NetworkPolicy", "Namespace", *W),
    peers={
        "kube-score": ("networkpolicy-targets-pod",),
        "kube-linter": ("dangling-networkpolicy", "dangling-networkpolicypeer-podselector"),
        "kubescape": ("C-0299",),
        "popeye": ("POP-1200", "POP-1201", "POP-1202", "POP-1208"),
    },
)
def dangling_network_policy(ctx: CheckContext) -> Iterator[Result]:
    """Warning when ``spec.podSelector`` matches no workload in the policy's namespace, or when a peer's
    ``podSelector`` / ``namespaceSelector`` matches nothing (peer podSelector without namespaceSelector is
    scoped to the policy's namespace; namespace labels include ``kubernetes.io/metadata.name``). Empty
    selectors select everything and never dangle (kube-linter does the same); ipBlock peers are ignored.
    """
    snap = ctx.snap
    ns_labels: dict[str | None, dict[str, str]] = {}
    for ns in snap.namespaces():
        obj = snap.get("Namespace", None, ns)
        ns_labels[ns] = {**(obj.labels if obj else {}), "kubernetes.io/metadata.name": ns}
    selected_namespaces: dict[str, list[str | None]] = {}
    for np in snap.of_kind("NetworkPolicy"):
        problems: list[str] = []
        selector = np.spec.get("podSelector")
        if not _is_empty_selector(selector) and not snap.select_workloads(np.namespace, selector):
            problems.append("podSelector matches no pod in its namespace")
        peers = [p for rule in np.spec.get("ingress") or [] for p in rule.get("from") or []]
        peers += [p for rule in np.spec.get("egress") or [] for p in rule.get("to") or []]
        for peer in peers:
            if "ipBlock" in peer:
                continue
            ns_selector = peer.get("namespaceSelector")
            pod_selector = peer.get("podSelector")
            if ns_selector is None:
                namespaces: list[str | None] = [np.namespace]
            elif _is_empty_selector(ns_selector):
                namespaces = list(ns_labels) or [np.namespace]
            else:
                key = json.dumps(ns_selector, sort_keys=True, default=str)
                if key not in selected_namespaces:  # policies repeat a few selectors: match each once
                    selected_namespaces[key] = [
                        ns for ns, labels in ns_labels.items() if selector_matches(ns_selector, labels)
                    ]
                namespaces = selected_namespaces[key]
                if not namespaces:
                    problems.append(f"peer namespaceSelector {ns_selector} matches no namespace")
                    continue
            if (
                pod_selector is not None
                and not _is_empty_selector(pod_selector)
                and not any(snap.select_workloads(ns, pod_selector) for ns in namespaces)
            ):
                problems.append(f"peer podSelector {pod_selector} matches no pod")
        if problems:
            yield ctx.warn(np, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(np)


# ---- OPS-010 ------------------------------------------------------------------------------------

# Bootstrap roles every cluster has (kubectl get clusterroles,roles -A -l kubernetes.io/bootstrapping=rbac-defaults).
_BUILTIN_CLUSTER_ROLES = frozenset(
    {"cluster-admin", "admin", "edit", "view", "extension-apiserver-authentication-reader"}
)


def _builtin_role(name: str, obj: K8sObject | None = None) -> bool:
    if name in _BUILTIN_CLUSTER_ROLES or name.startswith("system:"):
        return True
    return obj is not None and obj.labels.get("kubernetes.io/bootstrapping") == "rbac-defaults"


@check(
    id="OPS-010",
    pillar="operational-excellence",
    name="Unused or broken RBAC objects",
    severity="low",
    description="Bindings to missing roles grant nothing (or start granting when someone creates the role), "
    "and unused roles and ServiceAccounts are permissions nobody reviews.",
    remediation="Fix or delete bindings whose role or subject is gone; delete roles and ServiceAccounts "
    "nothing uses.",
    mode="manifest",
    requires=("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount", *W),
    peers={
        "polaris": ("clusterrolebindingPodExecAttach",),
        "popeye": ("POP-400", "POP-1300"),
        "kor": ("Roles", "ClusterRoles", "RoleBindings", "ClusterRoleBindings", "ServiceAccounts"),
    },
)
def rbac_hygiene(ctx: CheckContext) -> Iterator[Result]:
    """Bindings: failing when roleRef names a missing Role/ClusterRole (warning in manifests, where the role
    may live outside the run; built-in ``cluster-admin``/``admin``/``edit``/``view``/``system:*`` always
    exist); warning when a ServiceAccount subject is missing. Roles/ClusterRoles: warning when no binding
    references them and they are not aggregated into another role (``system:*`` and bootstrap roles are
    exempt). ServiceAccounts: warning when no pod template uses them and no binding names them (``default``
    is exempt; ``system:serviceaccounts[:<ns>]`` group subjects count as binding them).
    """
    snap = ctx.snap
    bindings = [*snap.of_kind("RoleBinding"), *snap.of_kind("ClusterRoleBinding")]
    bound_roles: set[tuple[str | None, str]] = set()
    bound_cluster_roles: set[str] = set()
    bound_sas: set[tuple[str | None, str]] = set()
    bound_sa_groups: set[str | None] = set()
    for b in bindings:
        ref = b.raw.get("roleRef") or {}
        if ref.get("kind") == "Role":
            bound_roles.add((b.namespace, ref.get("name", "")))
        else:
            bound_cluster_roles.add(ref.get("name", ""))
        for s in b.raw.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                bound_sas.add((s.get("namespace") or b.namespace, s.get("name", "")))
            elif s.get("kind") == "Group" and str(s.get("name", "")).startswith("system:serviceaccounts"):
                bound_sa_groups.add(s["name"].split(":", 2)[2] if s["name"].count(":") >= 2 else "*")
    used_sas: set[tuple[str | None, str]] = set()
    for kind in WORKLOAD_KINDS:
        for obj in snap.of_kind(kind):
            pt = pod_template(obj)
            if pt is not None:
                spec = pt[0]
                used_sas.add((obj.namespace, spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"))

    def find(kind: str, ns: str | None, name: str) -> bool:
        # A namespace-less manifest is applied into whatever namespace the binding names.
        return snap.get(kind, ns, name) is not None or (not ctx.live and snap.get(kind, None, name) is not None)

    for b in bindings:
        ref = b.raw.get("roleRef") or {}
        name = ref.get("name", "")
        if ref.get("kind") == "Role":
            exists = find("Role", b.namespace, name) or (not ctx.live and _builtin_role(name))
        else:
            exists = snap.get("ClusterRole", None, name) is not None or (not ctx.live and _builtin_role(name))
        missing_sas = [
            f"{s.get('namespace') or b.namespace}/{s.get('name')}"
            for s in b.raw.get("subjects") or []
            if s.get("kind") == "ServiceAccount" and s.get("name") != "default"
            and not find("ServiceAccount", s.get("namespace") or b.namespace, s.get("name", ""))
        ]
        sa_text = f"subject ServiceAccount(s) not found: {', '.join(missing_sas)}" if missing_sas else ""
        if not exists:
            text = f"roleRef {ref.get('kind')}/{name} does not exist"
            if not ctx.live:
                text += " in the run"
            msg = "; ".join(x for x in (text, sa_text) if x)
            yield (ctx.fail(b, msg) if ctx.live else ctx.warn(b, msg))
        elif missing_sas:
            yield ctx.warn(b, sa_text, details=missing_sas)
        else:
            yield ctx.ok(b)

    for role in snap.of_kind("Role"):
        if _builtin_role(role.name, role):
            yield ctx.skip(role, EXEMPT_BUILTIN, "built-in role")
        elif (role.namespace, role.name) in bound_roles:
            yield ctx.ok(role)
        else:
            yield ctx.warn(role, "Role is not referenced by any RoleBinding")
    for role in snap.of_kind("ClusterRole"):
        aggregated = role.raw.get("aggregationRule") or any(
            k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in role.labels
        )
        if _builtin_role(role.name, role):
            yield ctx.skip(role, EXEMPT_BUILTIN, "built-in role")
        elif role.name in bound_cluster_roles or aggregated:
            yield ctx.ok(role)
        else:
            yield ctx.warn(role, "ClusterRole is bound nowhere and not aggregated")
    for sa in snap.of_kind("ServiceAccount"):
        key = (sa.namespace, sa.name)
        if sa.name == "default":
            yield ctx.skip(sa, EXEMPT_BUILTIN, "every namespace has a default ServiceAccount")
        elif key in used_sas or key in bound_sas or sa.namespace in bound_sa_groups or "*" in bound_sa_groups:
            yield ctx.ok(sa)
        else:
            yield ctx.warn(sa, "ServiceAccount is used by no pod and bound by no RoleBinding/ClusterRoleBinding")


# ---- OPS-011 ------------------------------------------------------------------------------------

_LOG_AGENTS = (
    "fluent-bit", "fluentbit", "fluentd", "vector", "promtail", "alloy", "grafana-agent", "otel-collector",
    "opentelemetry-collector", "otelcol", "datadog", "cloudwatch-agent", "aws-for-fluent-bit", "filebeat",
    "elastic-agent", "splunk", "newrelic-logging", "sumologic", "ama-logs", "omsagent", "logging-agent",
    "stackdriver", "oneagent", "logdna", "logstash",
)
_METRICS_STACKS = (
    "prometheus", "victoria-metrics", "victoriametrics", "vmagent", "vmsingle", "otel-collector",
    "opentelemetry-collector", "otelcol", "datadog", "grafana-agent", "alloy", "newrelic", "cloudwatch-agent",
    "ama-metrics", "dynatrace", "oneagent", "sysdig", "instana", "thanos", "signalfx", "splunk-otel",
)
_METRICS_KINDS = ("Prometheus", "PrometheusAgent", "VMAgent", "VMSingle", "VMCluster", "OpenTelemetryCollector")


def _haystack(w: Workload) -> str:
    labels = {**w.pod_labels, **w.obj.labels}
    parts = [w.name, labels.get("app.kubernetes.io/name", ""), labels.get("k8s-app", ""), labels.get("app", "")]
    parts += [str(c.get("image", "")) for c in w.containers()]
    return " ".join(parts).lower()


@check(
    id="OPS-011",
    pillar="operational-excellence",
    name="Observability baseline",
    severity="info",
    description="Without a log-shipping agent, logs vanish with their pods; without a metrics stack there is "
    "no alerting or capacity data. Both are prerequisites for operating anything else well.",
    remediation="Deploy a node-level log agent (Fluent Bit, Vector, OpenTelemetry Collector...) and a metrics "
    "stack (Prometheus, OpenTelemetry, a managed agent...).",
    mode="live",
    requires=("DaemonSet", "Deployment", "StatefulSet"),
    peers={"hardeneks": ("check_logs_are_enabled",)},
)
def observability_baseline(ctx: CheckContext) -> Iterator[Result]:
    """One cluster-level result: warning when no log-shipping DaemonSet or no metrics stack is detected,
    passing otherwise. Detection matches names, ``app``/``k8s-app``/``app.kubernetes.io/name`` labels and
    images against built-in patterns plus the ``log_agent_patterns`` / ``metrics_patterns`` settings;
    Prometheus/VictoriaMetrics/OpenTelemetry operator objects also count as a metrics stack.
    """
    log_patterns = (*_LOG_AGENTS, *(str(x).lower() for x in ctx.setting("log_agent_patterns", []) or []))
    metric_patterns = (*_METRICS_STACKS, *(str(x).lower() for x in ctx.setting("metrics_patterns", []) or []))
    logs: list[str] = []
    metrics: list[str] = [o.ref for o in ctx.snap.of_kind(*_METRICS_KINDS)]
    for w in ctx.snap.workloads():
        if w.kind not in ("DaemonSet", "Deployment", "StatefulSet"):
            continue
        text = _haystack(w)
        if w.kind == "DaemonSet" and any(p in text for p in log_patterns):
            logs.append(w.obj.ref)
        if any(p in text for p in metric_patterns) or w.namespace == "gmp-system":
            metrics.append(w.obj.ref)
    details = {"log_agents": logs, "metrics": metrics}
    missing = []
    if not logs:
        missing.append("no log-shipping agent DaemonSet detected")
    if not metrics:
        missing.append("no metrics stack detected")
    if missing:
        yield ctx.warn(None, "; ".join(missing), details=details)
    else:
        yield ctx.ok(None, f"log agent {logs[0]}, metrics {metrics[0]}", details=details)

