"""Objects as a real API server returns them: the fields the generator leaves out, at realistic sizes.

A real object carries ``metadata.managedFields`` (server-side apply's field ownership, one entry per
manager, whose ``fieldsV1`` mirrors the fields that manager set), and an object applied with
``kubectl apply`` carries the whole applied manifest again in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation. Together they roughly double a dump.
No check reads them, so they are what ingest must learn to drop; this module adds them to
``bench.generate``'s objects so the benchmarks see what a cluster sends. Objects a Helm release owns
(label ``app.kubernetes.io/managed-by: Helm``) carry no last-applied annotation: their single
manager is ``helm``. Controllers' objects carry ``metadata.generation``. :func:`sized_status` adds
what makes real Nodes and Pods large (a node's image list and system info, pods' IP lists), for
``bench.envelope``.

Usage: ``python -m bench.realistic IN.json OUT.json`` (a ``kind: List``), or :func:`decorate` in code.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Kinds people apply; the rest (Pods, ReplicaSets, endpoints, Nodes) are written by controllers.
APPLIED = frozenset(
    {
        "Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap", "ServiceAccount", "Role",
        "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Ingress", "NetworkPolicy",
        "PodDisruptionBudget", "HorizontalPodAutoscaler", "ResourceQuota", "LimitRange", "CronJob",
        "Namespace", "StorageClass", "PriorityClass", "IngressClass", "PersistentVolumeClaim",
    }
)  # fmt: skip
# Kinds whose spec changes bump metadata.generation (the API server sets it to 1 on create).
GENERATION = frozenset(
    {
        "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "CronJob", "Job", "Ingress", "NetworkPolicy",
        "PodDisruptionBudget", "HorizontalPodAutoscaler", "PriorityClass", "Namespace",
    }
)  # fmt: skip
HELM_LABEL = "app.kubernetes.io/managed-by"
CONTROLLER = {
    "Pod": "kube-controller-manager",
    "ReplicaSet": "kube-controller-manager",
    "EndpointSlice": "endpointslice-controller",
    "Endpoints": "endpoint-controller",
    "Node": "kubelet",
}


def fields_v1(value: Any) -> dict[str, Any]:
    """The ``fieldsV1`` set of a value: ``f:<key>`` per map key, ``k:{…}`` per keyed list item."""
    if isinstance(value, dict):
        out: dict[str, Any] = {".": {}}
        for key, item in value.items():
            out[f"f:{key}"] = fields_v1(item)
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        return {f'k:{{"name":"{i["name"]}"}}': fields_v1(i) for i in value}
    return {}


def _entry(manager: str, operation: str, api_version: str, time: str, fields: dict[str, Any], **extra: Any) -> dict:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def decorate(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` (changed in place and returned) as the API server would serve it."""
    meta = obj.setdefault("metadata", {})
    kind, api_version = obj.get("kind", ""), obj.get("apiVersion", "v1")
    time = meta.get("creationTimestamp") or "2026-10-01T00:00:00Z"
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    entries = []
    if kind in GENERATION:
        meta.setdefault("generation", 1)
    if meta.get("labels", {}).get(HELM_LABEL) == "Helm":
        spec_fields = {f"f:{k}": fields_v1(v) for k, v in body.items()}
        meta_fields = {f"f:{k}": fields_v1(meta[k]) for k in ("labels", "annotations") if k in meta}
        entries.append(_entry("helm", "Update", api_version, time, {"f:metadata": meta_fields, **spec_fields}))
    elif kind in APPLIED and kind != "Secret":
        applied_meta = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
        applied = {"apiVersion": api_version, "kind": kind, "metadata": applied_meta, **body}
        meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(applied, separators=(",", ":")) + "\n"
        spec_fields = {f"f:{k}": fields_v1(v) for k, v in body.items()}
        meta_fields = {f"f:{k}": fields_v1(meta[k]) for k in ("labels", "annotations") if k in meta}
        entries.append(
            _entry("kubectl-client-side-apply", "Update", api_version, time, {"f:metadata": meta_fields, **spec_fields})
        )
    else:
        manager = CONTROLLER.get(kind, "kube-controller-manager")
        owned = {f"f:{k}": fields_v1(v) for k, v in body.items()}
        meta_fields = {f"f:{k}": fields_v1(meta[k]) for k in ("labels", "ownerReferences") if k in meta}
        entries.append(_entry(manager, "Update", api_version, time, {"f:metadata": meta_fields, **owned}))
    if "status" in obj:
        status_manager = "kubelet" if kind in ("Pod", "Node") else "kube-controller-manager"
        entries.append(
            _entry(
                status_manager,
                "Update",
                api_version,
                time,
                {"f:status": fields_v1(obj["status"])},
                subresource="status",
            )
        )
    meta["managedFields"] = entries
    return obj


# The kubelet reports up to 50 images per node (--node-status-max-images): each with its digest
# and tag names and size. Built once; nodes share the entries (they are written, never changed).
_IMAGES = [
    {
        "names": [
            f"registry.example.com/team-{i % 40:02d}/svc-{i:03d}@sha256:{(i * 2654435761) % 2**256:064x}",
            f"registry.example.com/team-{i % 40:02d}/svc-{i:03d}:1.{i % 30}.{i % 7}",
        ],
        "sizeBytes": 20_000_000 + i * 1_234_567,
    }
    for i in range(200)
]


def sized_status(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` (changed in place) with the status bulk of a real Node or Pod; deterministic per name."""
    kind, meta, status = obj.get("kind"), obj.get("metadata", {}), obj.get("status")
    if not isinstance(status, dict):
        return obj
    seed = int(hashlib.blake2b(meta.get("name", "").encode(), digest_size=4).hexdigest(), 16)
    if kind == "Node":
        start = seed % 150
        status["images"] = _IMAGES[start : start + 50]
        status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": 10250}}
        info = status.setdefault("nodeInfo", {})
        info.update(
            machineID=f"{seed:08x}" * 4,
            systemUUID=f"ec2{seed:05x}-{seed % 9999:04d}-{seed % 7777:04d}-{seed % 5555:04d}-{seed:012x}",
            bootID=f"{seed * 7 % 2**32:08x}-{seed % 65535:04x}-4{seed % 4095:03x}-a{seed % 4095:03x}-{seed:012x}",
            kernelVersion="5.10.215-203.850.amzn2.x86_64",
            kubeProxyVersion=info.get("kubeletVersion", "v1.29.4"),
        )
        status.setdefault("addresses", []).extend(
            [
                {"type": "Hostname", "address": meta.get("name", "")},
                {"type": "InternalDNS", "address": meta.get("name", "")},
            ]
        )
        meta.setdefault("annotations", {}).update(
            {
                "alpha.kubernetes.io/provided-node-ip": status["addresses"][0]["address"],
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "csi.volume.kubernetes.io/nodeid": f'{{"ebs.csi.aws.com":"i-{seed:017x}"}}',
            }
        )
    elif kind == "Pod" and "podIP" in status:
        status["podIPs"] = [{"ip": status["podIP"]}]
        status["hostIPs"] = [{"ip": status.get("hostIP", "")}]
    return obj


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data = json.loads(Path(args[0]).read_text())
    data["items"] = [decorate(o) for o in data["items"]]
    Path(args[1]).write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
