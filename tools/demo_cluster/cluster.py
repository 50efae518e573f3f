"""The whole demo cluster: the scenes in the order they are made, then the derived objects.

The order below is the order the random stream is drawn in (see ``base.py``), so it is part of the
output; the dump itself is sorted by kind, namespace and name afterwards, as ``kubectl`` lists it.
"""

from __future__ import annotations

from .builder import Builder
from .scenes import (
    cluster_rbac,
    cluster_wide,
    default,
    kube_system,
    kube_system_addons,
    kube_system_daemonsets,
    legacy,
    namespaces,
    nodes,
    payments,
    payments_data,
    shop,
    shop_network,
    staging,
)
from .world import Obj

# One line per scene module; a namespace told in two modules appears twice.
SCENES = (
    namespaces.build,  # every namespace with its default ServiceAccount and kube-root-ca.crt
    nodes.build,  # four EKS nodes; one cordoned, one nearly empty
    cluster_wide.classes,  # PriorityClasses, the gp2 StorageClass, the alb IngressClass
    cluster_rbac.build,  # ClusterRoles and ClusterRoleBindings, cluster-admin for a CI user among them
    cluster_wide.api_and_webhooks,  # the metrics APIService and the admission webhooks
    kube_system.build,  # add-ons' ServiceAccounts, ConfigMaps, Secrets, RBAC
    kube_system_addons.build,  # CoreDNS, metrics-server, AWS Load Balancer Controller
    kube_system_daemonsets.build,  # kube-proxy, aws-node
    kube_system_addons.coredns_pdb,  # after the DaemonSets: its place in the random stream is fixed
    default.build,  # the kubernetes Service and a forgotten nginx test Deployment
    shop.build,  # the well-run namespace: workloads, HPAs, PDBs, quota
    shop_network.build,  # its default-deny NetworkPolicies and TLS Ingress
    payments.build,  # the mixed one: api, crash-looping fraud-scorer, stuck notifier rollout
    payments_data.build,  # postgres StatefulSet (a replica Pending), orphaned PVC, nightly CronJob
    legacy.build,  # the badly run one
    staging.build,  # non-production, two replicas of everything
)


def build() -> Builder:
    """Make every object of the demo cluster and return the builder holding them, sorted."""
    cluster = Builder()
    for scene in SCENES:
        scene(cluster)
    cluster.endpoint_slices()
    cluster.items.sort(key=_order)
    return cluster


KIND_ORDER = [
    "Namespace",
    "Node",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
    "PersistentVolume",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ClusterRole",
    "ClusterRoleBinding",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "ResourceQuota",
    "LimitRange",
    "Role",
    "RoleBinding",
    "PersistentVolumeClaim",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Job",
    "Pod",
    "Service",
    "EndpointSlice",
    "Ingress",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
]


def _order(obj: Obj) -> tuple[int, str, str]:
    meta = obj["metadata"]
    return (KIND_ORDER.index(obj["kind"]), meta.get("namespace", ""), meta["name"])
