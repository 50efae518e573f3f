"""``shop``'s network: a default-deny NetworkPolicy with narrow allows per app, and the
TLS Ingress in front of the frontend.
"""

from __future__ import annotations

from ..builder import Builder
from ..world import REGION
from .shop import NS, labels_for


def build(b: Builder) -> None:
    b.network_policy(
        NS, "default-deny", 517, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, labels={"team": "shop"}
    )
    b.network_policy(
        NS,
        "allow-dns",
        517,
        {
            "egress": [
                {
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                }
            ],
            "podSelector": {},
            "policyTypes": ["Egress"],
        },
        labels={"team": "shop"},
    )
    b.network_policy(
        NS,
        "frontend-from-alb",
        517,
        {
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 8080, "protocol": "TCP"}]}],
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend"}},
            "policyTypes": ["Ingress"],
        },
        labels={"team": "shop"},
    )
    b.network_policy(
        NS,
        "backends-from-frontend",
        517,
        {
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend"}}}],
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                }
            ],
            "podSelector": {
                "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["cart", "catalog"]}]
            },
            "policyTypes": ["Ingress"],
        },
        labels={"team": "shop"},
    )
    b.network_policy(
        NS,
        "frontend-to-backends",
        517,
        {
            "egress": [
                {
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                    "to": [
                        {
                            "podSelector": {
                                "matchExpressions": [
                                    {
                                        "key": "app.kubernetes.io/name",
                                        "operator": "In",
                                        "values": ["cart", "catalog"],
                                    }
                                ]
                            }
                        }
                    ],
                },
                {
                    "ports": [{"port": 443, "protocol": "TCP"}],
                    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "payments"}}}],
                },
            ],
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend"}},
            "policyTypes": ["Egress"],
        },
        labels={"team": "shop"},
    )
    b.ingress(
        NS,
        "shop",
        517,
        [
            {
                "host": "shop.example.com",
                "http": {
                    "paths": [
                        {
                            "backend": {"service": {"name": "frontend", "port": {"name": "http"}}},
                            "path": "/",
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        tls=[{"hosts": ["shop.example.com"]}],
        annotations={
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "meta.helm.sh/release-name": "shop",
            "meta.helm.sh/release-namespace": "shop",
        },
        labels=labels_for("frontend", "4.12.3", "web"),
        lb=f"k8s-shop-shop-{b.hexstr(10)}-{b.rng.randint(100000000, 999999999)}.{REGION}.elb.amazonaws.com",
    )
