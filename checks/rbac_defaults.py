"""What makes an RBAC object the cluster's own: the API server's bootstrap policy, not a name.

One rule for every pillar's RBAC checks (security's SEC-027/028/029, operations' OPS-010), so they
cannot disagree on what a system object is (docs/catalogue.md#system-rbac).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.k8sobject import K8sObject

# What the API server puts on every RBAC object it bootstraps (and reconciles at each start).
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
BOOTSTRAP_VALUE = "rbac-defaults"
AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"


def is_bootstrapped(obj: K8sObject) -> bool:
    """Whether the API server's bootstrap policy made this RBAC object.

    Its objects carry the label ``kubernetes.io/bootstrapping: rbac-defaults`` and the annotation
    ``rbac.authorization.kubernetes.io/autoupdate`` (kept when an admin sets it to ``false`` to stop
    reconciliation: the object is still the cluster's own). Either one is enough.
    """
    return obj.labels.get(BOOTSTRAP_LABEL) == BOOTSTRAP_VALUE or AUTOUPDATE_ANNOTATION in obj.annotations


def is_system_object(obj: K8sObject) -> bool:
    """Whether an RBAC object is the control plane's own (docs/catalogue.md#system-rbac).

    Kubernetes' definition: a default object (bootstrapped) whose name has the ``system:`` prefix,
    which marks what the control plane manages directly. The name alone is not enough, since anyone
    may create a ``system:something`` role; nor is bootstrapping alone: ``cluster-admin``, ``admin``,
    ``edit`` and ``view`` are bootstrapped too, but they are the user-facing roles, made to be granted,
    and their grants are judged. The RBAC checks all ask this one question.
    """
    return obj.name.startswith("system:") and is_bootstrapped(obj)
