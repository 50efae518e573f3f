"""``kube-system``'s configuration: the add-ons' ServiceAccounts, ConfigMaps (CoreDNS, kube-proxy,
``aws-auth`` mapping the CI and support IAM roles), Secrets and RBAC. The add-ons themselves are in
``kube_system_addons`` (Deployments) and ``kube_system_daemonsets`` (DaemonSets).
"""

from __future__ import annotations

from ..builder import Builder
from ..world import ACCOUNT, REGION

NS = "kube-system"
ALB_LABELS = {
    "app.kubernetes.io/instance": "aws-load-balancer-controller",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/name": "aws-load-balancer-controller",
    "app.kubernetes.io/version": "v2.7.2",
    "helm.sh/chart": "aws-load-balancer-controller-1.7.2",
}


def build(b: Builder) -> None:
    b.service_account(NS, "coredns", 530, labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"})
    b.service_account(
        NS, "kube-proxy", 530, labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"}
    )
    b.service_account(
        NS,
        "aws-node",
        530,
        labels={"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"},
        annotations={"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/demo-prod-vpc-cni"},
    )
    b.service_account(NS, "metrics-server", 530, labels={"k8s-app": "metrics-server"})
    b.service_account(
        NS,
        "aws-load-balancer-controller",
        517,
        labels=ALB_LABELS,
        annotations={
            "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/demo-prod-aws-load-balancer-controller"
        },
    )
    b.config_map(
        NS,
        "coredns",
        530,
        {
            "Corefile": ".:53 {\n    errors\n    health {\n        lameduck 5s\n      }\n    ready\n"
            "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n      pods insecure\n"
            "      fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n"
            "    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n"
        },
        labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
    )
    b.config_map(
        NS,
        "kube-proxy",
        530,
        {
            "kubeconfig": "kind: Config\napiVersion: v1\nclusters:\n- cluster:\n"
            "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n"
            f"    server: https://{b.hexstr(32).upper()}.gr7.{REGION}.eks.amazonaws.com\n"
            "  name: default\ncontexts:\n- context:\n    cluster: default\n    namespace: default\n"
            "    user: default\n  name: default\ncurrent-context: default\nusers:\n- name: default\n"
            "  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
        },
        labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"},
    )
    b.config_map(
        NS,
        "kube-proxy-config",
        530,
        {
            "config": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
            "bindAddress: 0.0.0.0\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig\n"
            'clusterCIDR: ""\nmetricsBindAddress: 0.0.0.0:10249\nmode: iptables\n'
        },
        labels={"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"},
    )
    b.config_map(
        NS,
        "aws-auth",
        530,
        {
            "mapRoles": f"- groups:\n  - system:bootstrappers\n  - system:nodes\n"
            f"  rolearn: arn:aws:iam::{ACCOUNT}:role/demo-prod-node\n"
            "  username: system:node:{{EC2PrivateDNSName}}\n"
            f"- rolearn: arn:aws:iam::{ACCOUNT}:role/ci-deployer\n  username: ci-deployer\n"
            f"- groups:\n  - support-team\n  rolearn: arn:aws:iam::{ACCOUNT}:role/support\n"
            "  username: support:{{SessionName}}\n"
        },
    )
    b.config_map(
        NS,
        "amazon-vpc-cni",
        530,
        {"enable-network-policy-controller": "false", "enable-windows-ipam": "false"},
        labels={
            "app.kubernetes.io/instance": "aws-vpc-cni",
            "app.kubernetes.io/name": "aws-node",
            "k8s-app": "aws-node",
        },
    )
    b.config_map(
        NS,
        "extension-apiserver-authentication",
        530,
        {
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]',
        },
    )
    b.secret(NS, "aws-load-balancer-tls", 517, "kubernetes.io/tls", labels=ALB_LABELS)
    b.secret(
        NS,
        "sh.helm.release.v1.aws-load-balancer-controller.v3",
        212,
        "helm.sh/release.v1",
        labels={
            "modifiedAt": "1711641600",
            "name": "aws-load-balancer-controller",
            "owner": "helm",
            "status": "deployed",
            "version": "3",
        },
    )
    b.rbac_role(
        "Role",
        "extension-apiserver-authentication-reader",
        NS,
        530,
        [
            {
                "apiGroups": [""],
                "resourceNames": ["extension-apiserver-authentication"],
                "resources": ["configmaps"],
                "verbs": ["get", "list", "watch"],
            }
        ],
        labels={"kubernetes.io/bootstrapping": "rbac-defaults"},
        annotations={"rbac.authorization.kubernetes.io/autoupdate": "true"},
    )
    b.binding(
        "RoleBinding",
        "metrics-server-auth-reader",
        NS,
        530,
        "Role",
        "extension-apiserver-authentication-reader",
        [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": NS}],
        labels={"k8s-app": "metrics-server"},
    )
