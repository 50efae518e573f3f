"""The ``kube-system`` DaemonSets on every node: kube-proxy (privileged, host network) and the
VPC CNI ``aws-node`` (NET_ADMIN, a privileged init container), as EKS installs them.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr, res
from ..world import EKS_ECR, N1, N2, N3, N4
from .kube_system import NS


def build(b: Builder) -> None:
    # kube-proxy and aws-node DaemonSets (EKS add-ons) on every node.
    node_affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                            {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate"]},
                        ]
                    }
                ]
            }
        }
    }
    kp_labels = {"k8s-app": "kube-proxy"}
    b.daemonset(
        NS,
        "kube-proxy",
        age=530,
        labels={"eks.amazonaws.com/component": "kube-proxy", **kp_labels},
        pod_labels=kp_labels,
        spec={
            "affinity": node_affinity,
            "containers": [
                ctr(
                    "kube-proxy",
                    f"{EKS_ECR}/eks/kube-proxy:v1.29.3-minimal-eksbuild.2",
                    command=[
                        "kube-proxy",
                        "--v=2",
                        "--config=/var/lib/kube-proxy-config/config",
                        "--hostname-override=$(NODE_NAME)",
                    ],
                    env=[
                        {
                            "name": "NODE_NAME",
                            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
                        }
                    ],
                    resources=res("100m"),
                    securityContext={"privileged": True},
                    volumeMounts=[
                        {"mountPath": "/var/log", "name": "varlog"},
                        {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                        {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True},
                        {"mountPath": "/var/lib/kube-proxy/", "name": "kubeconfig"},
                        {"mountPath": "/var/lib/kube-proxy-config/", "name": "config"},
                    ],
                ),
            ],
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "serviceAccountName": "kube-proxy",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [
                {"hostPath": {"path": "/var/log"}, "name": "varlog"},
                {"hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}, "name": "xtables-lock"},
                {"hostPath": {"path": "/lib/modules"}, "name": "lib-modules"},
                {"configMap": {"name": "kube-proxy"}, "name": "kubeconfig"},
                {"configMap": {"name": "kube-proxy-config"}, "name": "config"},
            ],
        },
        pods=[
            (N1, 41, {"kube-proxy": (0.002, 24)}),
            (N2, 41, {"kube-proxy": (0.002, 23)}),
            (N3, 2, {"kube-proxy": (0.001, 21)}),
            (N4, 212, {"kube-proxy": (0.001, 26)}),
        ],
    )
    an_labels = {"k8s-app": "aws-node"}
    b.daemonset(
        NS,
        "aws-node",
        age=530,
        labels={
            "app.kubernetes.io/instance": "aws-vpc-cni",
            "app.kubernetes.io/name": "aws-node",
            "app.kubernetes.io/version": "v1.18.1",
            "k8s-app": "aws-node",
        },
        pod_labels=an_labels,
        spec={
            "affinity": node_affinity,
            "containers": [
                ctr(
                    "aws-node",
                    f"{EKS_ECR}/amazon-k8s-cni:v1.18.1-eksbuild.3",
                    env=[
                        {"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
                        {
                            "name": "MY_NODE_NAME",
                            "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
                        },
                        {"name": "WARM_ENI_TARGET", "value": "1"},
                    ],
                    livenessProbe={
                        "exec": {
                            "command": [
                                "/app/grpc-health-probe",
                                "-addr=:50051",
                                "-connect-timeout=5s",
                                "-rpc-timeout=5s",
                            ]
                        },
                        "failureThreshold": 3,
                        "initialDelaySeconds": 60,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "timeoutSeconds": 10,
                    },
                    ports=[{"containerPort": 61678, "name": "metrics"}],
                    readinessProbe={
                        "exec": {
                            "command": [
                                "/app/grpc-health-probe",
                                "-addr=:50051",
                                "-connect-timeout=5s",
                                "-rpc-timeout=5s",
                            ]
                        },
                        "failureThreshold": 3,
                        "initialDelaySeconds": 1,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "timeoutSeconds": 10,
                    },
                    resources=res("25m"),
                    securityContext={"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                    volumeMounts=[
                        {"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"},
                        {"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
                        {"mountPath": "/host/var/log/aws-routed-eni", "name": "log-dir"},
                        {"mountPath": "/var/run/aws-node", "name": "run-dir"},
                        {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                    ],
                ),
            ],
            "hostNetwork": True,
            "initContainers": [
                ctr(
                    "aws-vpc-cni-init",
                    f"{EKS_ECR}/amazon-k8s-cni-init:v1.18.1-eksbuild.3",
                    env=[{"name": "DISABLE_TCP_EARLY_DEMUX", "value": "false"}],
                    resources=res("25m"),
                    securityContext={"privileged": True},
                    volumeMounts=[{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}],
                ),
            ],
            "priorityClassName": "system-node-critical",
            "serviceAccountName": "aws-node",
            "terminationGracePeriodSeconds": 10,
            "tolerations": [{"operator": "Exists"}],
            "volumes": [
                {"hostPath": {"path": "/opt/cni/bin"}, "name": "cni-bin-dir"},
                {"hostPath": {"path": "/etc/cni/net.d"}, "name": "cni-net-dir"},
                {"hostPath": {"path": "/var/log/aws-routed-eni", "type": "DirectoryOrCreate"}, "name": "log-dir"},
                {"hostPath": {"path": "/var/run/aws-node", "type": "DirectoryOrCreate"}, "name": "run-dir"},
                {"hostPath": {"path": "/run/xtables.lock"}, "name": "xtables-lock"},
            ],
        },
        pods=[
            (N1, 41, {"aws-node": (0.004, 52)}),
            (N2, 41, {"aws-node": (0.004, 55)}),
            (N3, 2, {"aws-node": (0.003, 48)}),
            (N4, 212, {"aws-node": (0.003, 61)}),
        ],
    )
