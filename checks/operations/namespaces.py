"""What lives where: the default namespace and kube-system (OPS-001, OPS-002)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.operations.common import EXEMPT_BUILTIN
from checks.registry import check
from checks.snapshot import CLUSTER_SCOPED_KINDS, K8sObject, Workload

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
    for crd in ctx.snapshot.of_kind("CustomResourceDefinition"):
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


@check("OPS-001")
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
    for obj in ctx.snapshot.objects:
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


@check("OPS-002")
def kube_system_workloads(ctx: CheckContext) -> Iterator[Result]:
    """Warn about workloads in ``kube-system`` that are not recognised system components.

    Recognised: ``system-node-critical``/``system-cluster-critical`` priority, control-plane labels
    (``tier: control-plane``, ``component: kube-apiserver``...), add-on labels (``k8s-app``,
    ``addonmanager.kubernetes.io/mode``, ``kubernetes.io/cluster-service``, EKS/AKS component labels), a
    built-in list of well-known add-on names, and the globs of the ``kube_system_allowlist`` setting.
    Only kube-system workloads produce results.
    """
    extra = [str(x) for x in ctx.setting("kube_system_allowlist", []) or []]
    for w in ctx.snapshot.workloads():
        if w.namespace != "kube-system":
            continue
        why = _recognised_system(w, extra)
        if why:
            yield ctx.ok(w, f"recognised system component: {why}")
        else:
            yield ctx.warn(w, "workload in kube-system is not a recognised system component")
