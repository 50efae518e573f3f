"""The ``kube-system`` Deployments: CoreDNS (EKS add-on), metrics-server and the AWS Load Balancer
Controller (Helm), each with its Service.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr, http_probe, res
from ..world import CLUSTER, EKS_ECR, N1, N2, REGION
from .kube_system import ALB_LABELS, NS

DNS_LABELS = {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}


def build(b: Builder) -> None:
    # coredns (EKS add-on)
    coredns_spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
                            ]
                        }
                    ]
                }
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "podAffinityTerm": {
                            "labelSelector": {
                                "matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]
                            },
                            "topologyKey": "kubernetes.io/hostname",
                        },
                        "weight": 100,
                    }
                ]
            },
        },
        "containers": [
            ctr(
                "coredns",
                f"{EKS_ECR}/eks/coredns:v1.11.1-eksbuild.9",
                args=["-conf", "/etc/coredns/Corefile"],
                livenessProbe=http_probe("/health", 8080, initial=60, failure=5),
                ports=[
                    {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                    {"containerPort": 53, "name": "dns-tcp"},
                    {"containerPort": 9153, "name": "metrics"},
                ],
                readinessProbe=http_probe("/ready", 8181),
                resources=res("100m", "70Mi", mem_limit="170Mi"),
                securityContext={
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                },
                volumeMounts=[{"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": True}],
            ),
        ],
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": "coredns",
        "tolerations": [
            {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"},
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
        ],
        "volumes": [
            {
                "configMap": {"items": [{"key": "Corefile", "path": "Corefile"}], "name": "coredns"},
                "name": "config-volume",
            }
        ],
    }
    b.deployment(
        NS,
        "coredns",
        age=530,
        labels={**DNS_LABELS, "kubernetes.io/name": "CoreDNS"},
        pod_labels=DNS_LABELS,
        spec=coredns_spec,
        replicas=2,
        strategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}, "type": "RollingUpdate"},
        revisions=[
            {"age": 212, "pods": []},
            {
                "age": 41,
                "pods": [
                    (N1, "running", 41, 0, {"coredns": (0.004, 21)}),
                    (N2, "running", 41, 0, {"coredns": (0.003, 19)}),
                ],
            },
        ],
    )
    b.service(
        NS,
        "kube-dns",
        530,
        selector={"k8s-app": "kube-dns"},
        cluster_ip="172.20.0.10",
        labels={
            "eks.amazonaws.com/component": "kube-dns",
            "k8s-app": "kube-dns",
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "CoreDNS",
        },
        annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
        ports=[
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "targetPort": 53},
            {"name": "metrics", "port": 9153, "targetPort": 9153},
        ],
    )

    # metrics-server
    ms_labels = {"k8s-app": "metrics-server"}
    b.deployment(
        NS,
        "metrics-server",
        age=530,
        labels=ms_labels,
        pod_labels=ms_labels,
        replicas=1,
        spec={
            "containers": [
                ctr(
                    "metrics-server",
                    "registry.k8s.io/metrics-server/metrics-server:v0.7.1",
                    args=[
                        "--cert-dir=/tmp",
                        "--secure-port=10250",
                        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                        "--kubelet-use-node-status-port",
                        "--metric-resolution=15s",
                    ],
                    livenessProbe=http_probe("/livez", "https", scheme="HTTPS"),
                    ports=[{"containerPort": 10250, "name": "https"}],
                    readinessProbe=http_probe("/readyz", "https", initial=20, scheme="HTTPS"),
                    resources=res("100m", "200Mi"),
                    securityContext={
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    volumeMounts=[{"mountPath": "/tmp", "name": "tmp-dir"}],
                ),
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "priorityClassName": "system-cluster-critical",
            "serviceAccountName": "metrics-server",
            "volumes": [{"emptyDir": {}, "name": "tmp-dir"}],
        },
        revisions=[{"age": 41, "pods": [(N2, "running", 41, 0, {"metrics-server": (0.006, 38)})]}],
    )
    b.service(
        NS,
        "metrics-server",
        530,
        selector=ms_labels,
        labels=ms_labels,
        ports=[{"name": "https", "port": 443, "targetPort": "https"}],
    )

    # aws-load-balancer-controller (Helm)
    alb_sel = {
        "app.kubernetes.io/instance": "aws-load-balancer-controller",
        "app.kubernetes.io/name": "aws-load-balancer-controller",
    }
    b.deployment(
        NS,
        "aws-load-balancer-controller",
        age=517,
        labels=ALB_LABELS,
        pod_labels=alb_sel,
        replicas=2,
        annotations={
            "meta.helm.sh/release-name": "aws-load-balancer-controller",
            "meta.helm.sh/release-namespace": "kube-system",
        },
        pod_annotations={"prometheus.io/port": "8080", "prometheus.io/scrape": "true"},
        spec={
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "podAffinityTerm": {
                                "labelSelector": {
                                    "matchExpressions": [
                                        {
                                            "key": "app.kubernetes.io/name",
                                            "operator": "In",
                                            "values": ["aws-load-balancer-controller"],
                                        }
                                    ]
                                },
                                "topologyKey": "kubernetes.io/hostname",
                            },
                            "weight": 100,
                        }
                    ]
                }
            },
            "containers": [
                ctr(
                    "aws-load-balancer-controller",
                    "public.ecr.aws/eks/aws-load-balancer-controller:v2.7.2",
                    args=[f"--cluster-name={CLUSTER}", "--ingress-class=alb", f"--aws-region={REGION}"],
                    livenessProbe=http_probe("/healthz", 61779, initial=30, failure=2),
                    ports=[
                        {"containerPort": 9443, "name": "webhook-server"},
                        {"containerPort": 8080, "name": "metrics-server"},
                    ],
                    readinessProbe=http_probe("/readyz", 61779, initial=10, failure=2),
                    resources=res("100m", "128Mi", mem_limit="256Mi"),
                    securityContext={
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                    },
                    volumeMounts=[
                        {"mountPath": "/tmp/k8s-webhook-server/serving-certs", "name": "cert", "readOnly": True}
                    ],
                ),
            ],
            "priorityClassName": "system-cluster-critical",
            "securityContext": {"fsGroup": 65534},
            "serviceAccountName": "aws-load-balancer-controller",
            "terminationGracePeriodSeconds": 10,
            "volumes": [{"name": "cert", "secret": {"secretName": "aws-load-balancer-tls"}}],
        },
        revisions=[
            {
                "age": 212,
                "pods": [
                    (N1, "running", 41, 0, {"aws-load-balancer-controller": (0.003, 41)}),
                    (N2, "running", 41, 0, {"aws-load-balancer-controller": (0.002, 37)}),
                ],
            }
        ],
    )
    b.service(
        NS,
        "aws-load-balancer-webhook-service",
        517,
        selector=alb_sel,
        labels={**ALB_LABELS, "app.kubernetes.io/component": "webhook", "prometheus.io/service-monitor": "false"},
        ports=[{"name": "webhook-server", "port": 443, "targetPort": "webhook-server"}],
    )


def coredns_pdb(b: Builder) -> None:
    """CoreDNS's PodDisruptionBudget. Made after the DaemonSets, not beside its Deployment, because
    that is where the generator has always drawn its uid from the random stream (see ``base.py``)."""
    b.pdb(
        NS,
        "coredns",
        530,
        DNS_LABELS,
        max_unavailable=1,
        labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"},
    )
