"""Kinds and resources: a policy's rules name resources (``deployments``), objects carry kinds.

The table is built once per snapshot from what kwa knows, most specific first:

1. the CustomResourceDefinitions in the snapshot (their ``spec.names.plural`` and ``scope``);
2. the kinds kwa lists from a live cluster (:data:`checks.sources.live.resources.RESOURCES`) and a
   few more built-in kinds it does not list;
3. otherwise the plural Kubernetes derives for a kind (lower case; ``-y`` → ``-ies``; ``-s``,
   ``-x``, ``-ch``, ``-sh`` → ``-es``), namespaced unless kwa knows the kind is cluster-scoped.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.snapshot import CLUSTER_SCOPED_KINDS, K8sObject, Snapshot

# Built-in kinds the live source does not list, so that a policy about them still finds them in
# manifests: (group, kind) -> (plural, namespaced).
_MORE: dict[tuple[str, str], tuple[str, bool]] = {
    ("", "PodTemplate"): ("podtemplates", True),
    ("", "Event"): ("events", True),
    ("events.k8s.io", "Event"): ("events", True),
    ("coordination.k8s.io", "Lease"): ("leases", True),
    ("node.k8s.io", "RuntimeClass"): ("runtimeclasses", False),
    ("storage.k8s.io", "CSIDriver"): ("csidrivers", False),
    ("storage.k8s.io", "CSINode"): ("csinodes", False),
    ("storage.k8s.io", "VolumeAttachment"): ("volumeattachments", False),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): ("customresourcedefinitions", False),
    ("certificates.k8s.io", "CertificateSigningRequest"): ("certificatesigningrequests", False),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): ("flowschemas", False),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): ("prioritylevelconfigurations", False),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"): ("mutatingadmissionpolicies", False),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"): ("mutatingadmissionpolicybindings", False),
}


@dataclass(frozen=True, slots=True)
class Resource:
    """Where an object sits in the API: its group, version and (plural) resource, and its scope."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool

    @property
    def gvr(self) -> dict[str, str]:
        return {"group": self.group, "version": self.version, "resource": self.resource}

    @property
    def gvk(self) -> dict[str, str]:
        return {"group": self.group, "version": self.version, "kind": self.kind}


def plural(kind: str) -> str:
    """The plural the API machinery guesses for a kind (``NetworkPolicy`` → ``networkpolicies``)."""
    low = kind.lower()
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ies"
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return low + "es"
    return low + "s"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class ResourceTable:
    """(group, kind) → (plural, namespaced) for one snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        from checks.sources.live.resources import RESOURCES  # the live source's table (imported on use)

        self._known: dict[tuple[str, str], tuple[str, bool]] = dict(_MORE)
        for kind, (group, _, resource, namespaced) in RESOURCES.items():
            self._known[(group, kind)] = (resource, namespaced)
        for crd in snapshot.of_kind("CustomResourceDefinition"):
            spec = crd.spec if isinstance(crd.spec, dict) else {}
            names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
            group, kind, resource = spec.get("group"), names.get("kind"), names.get("plural")
            if all(isinstance(v, str) and v for v in (group, kind, resource)):
                self._known[(group, kind)] = (resource, spec.get("scope") != "Cluster")

    def scope_known(self, group: str, kind: str) -> bool | None:
        """True/False when kwa knows whether the kind is namespaced; None when it guesses."""
        found = self._known.get((group, kind))
        return found[1] if found else None

    def namespaced(self, group: str, kind: str) -> bool:
        found = self._known.get((group, kind))
        return found[1] if found else kind not in CLUSTER_SCOPED_KINDS

    def resource_of(self, obj: K8sObject) -> Resource:
        group, version = split_api_version(obj.api_version)
        found = self._known.get((group, obj.kind))
        if found is not None:
            return Resource(group, version, found[0], obj.kind, found[1])
        return Resource(group, version, plural(obj.kind), obj.kind, obj.kind not in CLUSTER_SCOPED_KINDS)
