"""Cluster-scoped objects outside RBAC: PriorityClasses, the default ``gp2`` StorageClass
(``reclaimPolicy: Retain``), the ``alb`` IngressClass, the metrics APIService and the admission webhooks
(among them ``legacy-ingress-validator``: ``failurePolicy: Fail``, a 30 s timeout, a Service that is gone),
whose content is data in ``data/webhooks.yaml``.
"""

from __future__ import annotations

from ..builder import Builder
from ..world import data, ts


def classes(b: Builder) -> None:
    for name, value, desc in (
        (
            "system-cluster-critical",
            2000000000,
            "Used for system critical pods that must run in the cluster, "
            "but can be moved to another node if necessary.",
        ),
        (
            "system-node-critical",
            2000001000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        ("shop-critical", 100000, "Customer-facing shop services; preempts batch and staging workloads."),
    ):
        b.priority[name] = value
        b.add(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "description": desc,
                "kind": "PriorityClass",
                "metadata": b.meta(
                    name,
                    created=ts(530 if name.startswith("system") else 517),
                    labels={"team": "shop"} if name == "shop-critical" else None,
                    generation=1,
                ),
                "preemptionPolicy": "PreemptLowerPriority",
                "value": value,
            }
        )
    b.add(
        {
            "allowVolumeExpansion": False,
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": b.meta(
                "gp2",
                created=ts(530),
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            "parameters": {"fsType": "ext4", "type": "gp2"},
            "provisioner": "kubernetes.io/aws-ebs",
            "reclaimPolicy": "Retain",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    )
    b.add(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": b.meta(
                "alb",
                created=ts(517),
                labels={
                    "app.kubernetes.io/instance": "aws-load-balancer-controller",
                    "app.kubernetes.io/managed-by": "Helm",
                    "app.kubernetes.io/name": "aws-load-balancer-controller",
                },
                generation=1,
            ),
            "spec": {"controller": "ingress.k8s.aws/alb"},
        }
    )


def api_and_webhooks(b: Builder) -> None:
    b.add(
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": b.meta("v1beta1.metrics.k8s.io", created=ts(530), labels={"k8s-app": "metrics-server"}),
            "spec": {
                "group": "metrics.k8s.io",
                "groupPriorityMinimum": 100,
                "insecureSkipTLSVerify": True,
                "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443},
                "version": "v1beta1",
                "versionPriority": 100,
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": ts(41),
                        "message": "all checks passed",
                        "reason": "Passed",
                        "status": "True",
                        "type": "Available",
                    }
                ]
            },
        }
    )
    # The webhook configurations are data (data/webhooks.yaml): each entry's ``meta`` becomes metadata.
    for webhook in data("webhooks.yaml"):
        meta = webhook.pop("meta")
        age = meta.pop("age")
        b.add({**webhook, "metadata": b.meta(meta.pop("name"), created=ts(age), **meta)})
