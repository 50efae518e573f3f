"""ClusterRoles and ClusterRoleBindings: the built-in ones the dump needs, the add-ons' own, and
the deliberate problems: cluster-admin bound to the CI user ``ci-deployer`` and to the ``legacy-admin``
ServiceAccount, and a ``support-debug`` role that may exec into any pod.

The objects are data, in ``data/cluster-rbac.yaml``; this module turns each entry into the object.
"""

from __future__ import annotations

from ..builder import Builder
from ..world import data


def build(b: Builder) -> None:
    rbac = data("cluster-rbac.yaml")
    for role in rbac["clusterRoles"]:
        b.rbac_role(
            "ClusterRole",
            role["name"],
            None,
            role["age"],
            role["rules"],
            labels=role.get("labels"),
            annotations=role.get("annotations"),
            aggregation=role.get("aggregate"),
        )
    for binding in rbac["clusterRoleBindings"]:
        b.binding(
            "ClusterRoleBinding",
            binding["name"],
            None,
            binding["age"],
            "ClusterRole",
            binding["role"],
            binding["subjects"],
            labels=binding.get("labels"),
            annotations=binding.get("annotations"),
        )
