"""Every namespace, each with the ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap the
controllers add (``shop``'s default ServiceAccount does not automount its token).
"""

from __future__ import annotations

from ..builder import Builder


def build(b: Builder) -> None:
    b.namespace("default", 530)
    b.namespace("kube-node-lease", 530)
    b.namespace("kube-public", 530)
    b.namespace("kube-system", 530)
    b.namespace(
        "shop",
        517,
        {
            "cost-center": "cc-4410",
            "env": "prod",
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "team": "shop",
        },
    )
    b.namespace("payments", 480, {"env": "prod", "pod-security.kubernetes.io/warn": "baseline", "team": "payments"})
    b.namespace("legacy", 529)
    b.namespace(
        "staging",
        301,
        {"env": "staging", "pod-security.kubernetes.io/enforce": "baseline", "team": "shop"},
    )
    for ns, age in (
        ("default", 530),
        ("kube-node-lease", 530),
        ("kube-public", 530),
        ("kube-system", 530),
        ("shop", 517),
        ("payments", 480),
        ("legacy", 529),
        ("staging", 301),
    ):
        automount = False if ns == "shop" else None
        b.service_account(ns, "default", age, automount=automount)
        b.kube_root_ca(ns, age)
