"""The policy-report kinds of the API double (bench/apidouble.py): an in-memory store of
wg-policy ``PolicyReport``/``ClusterPolicyReport`` and OpenReports ``Report``/``ClusterReport``
objects behind the paths a real API server gives them.

What ``kwa run --publish-reports`` uses, as kube-apiserver answers it: discovery
(``GET /apis/<group>/<version>``, 404 when the group is not installed), server-side apply
(``PATCH`` with ``application/apply-patch+yaml``: create or replace), ``POST`` (create, 409 when
the object exists), ``PUT`` (replace, 404 when it does not), ``DELETE`` and lists (per namespace,
across namespaces, cluster-scoped) filtered by an equality ``labelSelector``. ``forbidden`` verbs
answer 403 as RBAC does. ``GET /_reports`` returns every stored object (for tests).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

GROUPS = {
    "wgpolicyk8s.io": ("v1alpha2", {"policyreports": "PolicyReport", "clusterpolicyreports": "ClusterPolicyReport"}),
    "openreports.io": ("v1alpha1", {"reports": "Report", "clusterreports": "ClusterReport"}),
}
# /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>]
_PATH = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?:/namespaces/(?P<ns>[^/]+))?(?:/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?)?$"
)


def _status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
                  "message": message}  # fmt: skip


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


class ReportStore:
    """The report objects, keyed by (group, plural, namespace, name); thread-safe."""

    def __init__(self, installed: tuple[str, ...] = tuple(GROUPS), forbidden: tuple[str, ...] = ()) -> None:
        self.installed = set(installed)
        self.forbidden = set(forbidden)  # verbs: get, list, create, update, patch, delete
        self.objects: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.version = 1

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/_reports" or any(path.startswith(f"/apis/{g}/") or path == f"/apis/{g}" for g in GROUPS)

    def dump(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.objects[k] for k in sorted(self.objects, key=lambda k: (k[0], k[1], k[2] or "", k[3]))]

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if path == "/_reports":
            return 200, {"items": self.dump()}
        m = _PATH.match(path)
        if m is None or m["group"] not in self.installed or m["version"] != GROUPS[m["group"]][0]:
            return _status(404, "NotFound", "the server could not find the requested resource")
        group, version, ns, plural, name = m["group"], m["version"], m["ns"], m["plural"], m["name"]
        kinds = GROUPS[group][1]
        if plural is None and ns is None and method == "GET":
            verbs = ["create", "delete", "get", "list", "patch", "update"]
            resources = [
                {"name": p, "kind": k, "namespaced": not p.startswith("cluster"), "singularName": "", "verbs": verbs}
                for p, k in kinds.items()
            ]
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
                         "resources": resources}  # fmt: skip
        cluster_scoped = plural is not None and plural.startswith("cluster")
        across_namespaces = ns is None and name is None and method == "GET"  # a namespaced kind's list everywhere
        if (
            plural not in kinds
            or (ns is not None and cluster_scoped)
            or not (ns or cluster_scoped or across_namespaces)
        ):
            return _status(404, "NotFound", f"no {plural} here")
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
        verb = verb or ("delete" if method == "DELETE" else "")
        if verb in self.forbidden:
            return _status(403, "Forbidden", f'{plural}.{group} is forbidden: cannot {verb} resource "{plural}"')
        with self.lock:
            return self._locked(method, group, version, kinds[plural], plural, ns, name, query, body)

    def _locked(
        self, method: str, group: str, version: str, kind: str, plural: str, ns: str | None, name: str | None,
        query: dict[str, str], body: bytes,
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        key = (group, plural, ns, name or "")
        if method == "GET" and name is None:
            selector = query.get("labelSelector") or ""
            items = [o for (g, p, n, _), o in sorted(self.objects.items(), key=lambda kv: (kv[0][2] or "", kv[0][3]))
                     if g == group and p == plural and (ns is None or n == ns)
                     and _matches(o["metadata"].get("labels") or {}, selector)]  # fmt: skip
            return 200, {"kind": f"{kind}List", "apiVersion": f"{group}/{version}",
                         "metadata": {"resourceVersion": str(self.version)}, "items": items}  # fmt: skip
        if method == "GET":
            found = self.objects.get(key)
            return (200, found) if found else _status(404, "NotFound", f'{plural}.{group} "{name}" not found')
        if method == "DELETE":
            if self.objects.pop(key, None) is None:
                return _status(404, "NotFound", f'{plural}.{group} "{name}" not found')
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        try:
            obj = json.loads(body or b"{}")
        except ValueError:
            return _status(400, "BadRequest", "the body is not JSON")
        if method == "POST":
            name = (obj.get("metadata") or {}).get("name")
            key = (group, plural, ns, name or "")
            if not name:
                return _status(422, "Invalid", "metadata.name: Required value")
            if key in self.objects:
                return _status(409, "AlreadyExists", f'{plural}.{group} "{name}" already exists')
        elif method == "PUT" and key not in self.objects:
            return _status(404, "NotFound", f'{plural}.{group} "{name}" not found')
        elif method == "PATCH" and "fieldManager" not in query:
            return _status(422, "Invalid", "fieldManager is required for apply patch")
        if obj.get("kind") != kind or obj.get("apiVersion") != f"{group}/{version}":
            return _status(400, "BadRequest", f"expected {group}/{version} {kind}")
        self.version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.version)
        if ns is not None:
            meta["namespace"] = ns
        self.objects[key] = obj
        return (201 if method == "POST" else 200), obj
