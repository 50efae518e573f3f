"""ClusterRoles and ClusterRoleBindings: the built-in ones the dump needs, the add-ons' own, and
the deliberate problems: cluster-admin bound to the CI user ``ci-deployer`` and to the ``legacy-admin``
ServiceAccount, and a ``support-debug`` role that may exec into any pod.
"""

from __future__ import annotations

from ..builder import Builder


def build(b: Builder) -> None:
    # RBAC: the built-in roles the dump needs, then the cluster's own.
    bootstrap = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    auto = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    b.rbac_role(
        "ClusterRole",
        "cluster-admin",
        None,
        530,
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        labels=bootstrap,
        annotations=auto,
    )
    for role, agg in (
        ("admin", "aggregate-to-admin"),
        ("edit", "aggregate-to-edit"),
        ("view", "aggregate-to-view"),
    ):
        b.rbac_role(
            "ClusterRole",
            role,
            None,
            530,
            [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "services"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
            labels=bootstrap,
            annotations=auto,
            aggregation=[{f"rbac.authorization.k8s.io/{agg}": "true"}],
        )
    b.rbac_role(
        "ClusterRole",
        "system:auth-delegator",
        None,
        530,
        [
            {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
        ],
        labels=bootstrap,
        annotations=auto,
    )
    b.rbac_role(
        "ClusterRole",
        "system:node-proxier",
        None,
        530,
        [
            {"apiGroups": [""], "resources": ["endpoints", "services"], "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
        labels=bootstrap,
        annotations=auto,
    )
    b.rbac_role(
        "ClusterRole",
        "system:coredns",
        None,
        530,
        [
            {
                "apiGroups": [""],
                "resources": ["endpoints", "services", "pods", "namespaces"],
                "verbs": ["list", "watch"],
            },
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
        labels={
            "eks.amazonaws.com/component": "coredns",
            "k8s-app": "kube-dns",
            "kubernetes.io/bootstrapping": "rbac-defaults",
        },
    )
    b.rbac_role(
        "ClusterRole",
        "system:metrics-server",
        None,
        530,
        [
            {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
        ],
        labels={"k8s-app": "metrics-server"},
    )
    b.rbac_role(
        "ClusterRole",
        "system:aggregated-metrics-reader",
        None,
        530,
        [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}],
        labels={
            "k8s-app": "metrics-server",
            "rbac.authorization.k8s.io/aggregate-to-admin": "true",
            "rbac.authorization.k8s.io/aggregate-to-edit": "true",
            "rbac.authorization.k8s.io/aggregate-to-view": "true",
        },
    )
    b.rbac_role(
        "ClusterRole",
        "aws-node",
        None,
        530,
        [
            {
                "apiGroups": ["crd.k8s.amazonaws.com"],
                "resources": ["eniconfigs"],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch", "patch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "list"]},
        ],
        labels={
            "app.kubernetes.io/instance": "aws-vpc-cni",
            "app.kubernetes.io/name": "aws-node",
            "app.kubernetes.io/version": "v1.18.1",
            "k8s-app": "aws-node",
        },
    )
    b.rbac_role(
        "ClusterRole",
        "aws-load-balancer-controller-role",
        None,
        517,
        [
            {
                "apiGroups": ["elbv2.k8s.aws"],
                "resources": ["targetgroupbindings", "ingressclassparams"],
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["pods", "pods/status"], "verbs": ["get", "list", "watch", "patch"]},
            {
                "apiGroups": ["", "extensions", "networking.k8s.io"],
                "resources": ["services", "ingresses", "ingresses/status", "services/status"],
                "verbs": ["get", "list", "patch", "update", "watch"],
            },
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        ],
        labels={
            "app.kubernetes.io/instance": "aws-load-balancer-controller",
            "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/name": "aws-load-balancer-controller",
        },
    )
    # Support engineers may exec into any pod in any namespace (SEC-029).
    b.rbac_role(
        "ClusterRole",
        "support-debug",
        None,
        212,
        [
            {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["create", "get"]},
        ],
        labels={"team": "platform"},
    )
    crb = "ClusterRoleBinding"
    b.binding(
        crb,
        "cluster-admin",
        None,
        530,
        "ClusterRole",
        "cluster-admin",
        [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}],
        labels=bootstrap,
        annotations=auto,
    )
    b.binding(
        crb,
        "system:node-proxier",
        None,
        530,
        "ClusterRole",
        "system:node-proxier",
        [{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}],
        labels=bootstrap,
        annotations=auto,
    )
    b.binding(
        crb,
        "system:coredns",
        None,
        530,
        "ClusterRole",
        "system:coredns",
        [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
    )
    b.binding(
        crb,
        "system:metrics-server",
        None,
        530,
        "ClusterRole",
        "system:metrics-server",
        [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}],
        labels={"k8s-app": "metrics-server"},
    )
    b.binding(
        crb,
        "metrics-server:system:auth-delegator",
        None,
        530,
        "ClusterRole",
        "system:auth-delegator",
        [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}],
        labels={"k8s-app": "metrics-server"},
    )
    b.binding(
        crb,
        "aws-node",
        None,
        530,
        "ClusterRole",
        "aws-node",
        [{"kind": "ServiceAccount", "name": "aws-node", "namespace": "kube-system"}],
        labels={"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"},
    )
    b.binding(
        crb,
        "aws-load-balancer-controller-rolebinding",
        None,
        517,
        "ClusterRole",
        "aws-load-balancer-controller-role",
        [{"kind": "ServiceAccount", "name": "aws-load-balancer-controller", "namespace": "kube-system"}],
        labels={
            "app.kubernetes.io/instance": "aws-load-balancer-controller",
            "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/name": "aws-load-balancer-controller",
        },
    )
    # The deliberate ones: a CI user and a legacy ServiceAccount with cluster-admin, support-team exec.
    b.binding(
        crb,
        "ci-deployer-cluster-admin",
        None,
        398,
        "ClusterRole",
        "cluster-admin",
        [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "ci-deployer"}],
    )
    b.binding(
        crb,
        "legacy-admin",
        None,
        529,
        "ClusterRole",
        "cluster-admin",
        [{"kind": "ServiceAccount", "name": "legacy-admin", "namespace": "legacy"}],
    )
    b.binding(
        crb,
        "support-debug",
        None,
        212,
        "ClusterRole",
        "support-debug",
        [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "support-team"}],
        labels={"team": "platform"},
    )
