"""What kwa lists from a live cluster, and how each kind is named in paths and messages."""

from __future__ import annotations

import re
from typing import Any

USER_AGENT = "kwa/0.1 (read-only assessment)"
JSON = "application/json"
SECRET_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# kind -> (group, version, plural, namespaced). Listed cluster-wide; order = submission order, so
# the usually largest lists start first.
RESOURCES: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True),
    "ReplicaSet": ("apps", "v1", "replicasets", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "EndpointSlice": ("discovery.k8s.io", "v1", "endpointslices", True),
    "Endpoints": ("", "v1", "endpoints", True),
    "Service": ("", "v1", "services", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Job": ("batch", "v1", "jobs", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
    "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "Namespace": ("", "v1", "namespaces", False),
    "Node": ("", "v1", "nodes", False),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "ResourceQuota": ("", "v1", "resourcequotas", True),
    "LimitRange": ("", "v1", "limitranges", True),
    "HorizontalPodAutoscaler": ("autoscaling", "v2", "horizontalpodautoscalers", True),
    "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "IngressClass": ("networking.k8s.io", "v1", "ingressclasses", False),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "PriorityClass": ("scheduling.k8s.io", "v1", "priorityclasses", False),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", False),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", False),
    "APIService": ("apiregistration.k8s.io", "v1", "apiservices", False),
    # The cluster's own admission policies, audited against the objects (checks/vap). GA in 1.30: an
    # older server answers 404, which only means the v1 API is not served there.
    "ValidatingAdmissionPolicy": ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", False),
    "ValidatingAdmissionPolicyBinding": (
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        False,
    ),
    # CRD-backed add-ons: a 404 only means "not installed".
    "VerticalPodAutoscaler": ("autoscaling.k8s.io", "v1", "verticalpodautoscalers", True),
    "NodePool": ("karpenter.sh", "v1", "nodepools", False),
    "ScaledObject": ("keda.sh", "v1alpha1", "scaledobjects", True),
}
OPTIONAL_KINDS = frozenset(
    {
        "VerticalPodAutoscaler",
        "NodePool",
        "ScaledObject",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)

# metrics.k8s.io, listed with the same machinery; keys double as names in ``unavailable``.
METRICS_RESOURCES: dict[str, tuple[str, str, str, bool]] = {
    "PodMetrics": ("metrics.k8s.io", "v1beta1", "pods", True),
    "NodeMetrics": ("metrics.k8s.io", "v1beta1", "nodes", False),
}


class ClusterUnreachable(Exception):
    """The cluster cannot be used at all: unreachable, timing out, or rejecting the credentials."""


class ClusterConfigError(ClusterUnreachable):
    """No usable cluster configuration (missing kubeconfig, unknown context, broken in-cluster setup,
    a credential that cannot be sent such as a token with a line break inside)."""


class NothingListable(ClusterUnreachable):
    """The API server answered, but the credentials may list none of the resources kwa reads
    (HTTP 401/403 on every one): an assessment of nothing is not an assessment."""


class DeadlineExceeded(ClusterUnreachable):
    """Reading the cluster did not finish before the caller's deadline (``load_live(deadline=…)``,
    the run's ``--run-timeout``); the message says what was still being read."""


def api_path(kind: str) -> str:
    """The cluster-wide list path of a kind in :data:`RESOURCES` (or a metrics pseudo-kind)."""
    group, version, plural, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
    return f"/api/{version}/{plural}" if not group else f"/apis/{group}/{version}/{plural}"


def resource_label(kind: str) -> str:
    """``apps/deployments``, ``core/pods``: how a kind is named in ``unavailable`` messages."""
    group, _, plural, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
    return f"{group or 'core'}/{plural}"


def parse_server_version(data: dict[str, Any]) -> str | None:
    """``{"gitVersion": "v1.29.4-eks-1552ad0"}`` → ``"1.29.4"``; falls back to major.minor."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", str(data.get("gitVersion") or ""))
    if match:
        return ".".join(match.groups())
    major = re.match(r"\d+", str(data.get("major") or ""))
    minor = re.match(r"\d+", str(data.get("minor") or ""))
    if major and minor:
        return f"{major.group()}.{minor.group()}"
    return None
