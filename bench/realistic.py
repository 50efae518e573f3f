"""Objects as a real API server returns them: the fields the generator leaves out, at realistic sizes.

A real object carries ``metadata.managedFields`` (server-side apply's field ownership, one entry per
manager, whose ``fieldsV1`` mirrors the fields that manager set), and an object applied with
``kubectl apply`` carries the whole applied manifest again in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation. Together they roughly double a dump.
No check reads them, so they are what ingest must learn to drop; this module adds them to
``bench.generate``'s objects so the benchmarks see what a cluster sends.

Usage: ``python -m bench.realistic IN.json OUT.json`` (a ``kind: List``), or :func:`decorate` in code.
"""

from __future__ import annotations

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
    if kind in APPLIED and kind != "Secret":
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
