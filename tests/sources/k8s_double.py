"""A paginating Kubernetes API double on kmock, and kubeconfigs pointing at it (live-source tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from checks.sources.live import RESOURCES, api_path

TOKEN = "t0ken-that-must-never-leak"


def write_kubeconfig(
    path: Path,
    servers: dict[str, str],
    current: str | None = None,
    token: str = TOKEN,
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
) -> str:
    """A kubeconfig with one context (and cluster) per ``name -> server URL``, token auth.

    ``user`` replaces the user's fields (``{"token": token}``); ``cluster`` adds to every cluster's.
    """
    names = list(servers)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": url, **(cluster or {})}} for n, url in servers.items()],
        "users": [{"name": "tester", "user": user if user is not None else {"token": token}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "tester"}} for n in names],
        "current-context": current or names[0],
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


class Paginated:
    """A list endpoint: serves ``items`` in pages of the request's ``limit`` with opaque continue tokens.

    Items are served without ``kind``/``apiVersion``, as a real API server does in lists.
    ``gone_on`` decides per request (``(request_number, continue_token)``) whether to answer 410 Gone.
    """

    def __init__(
        self,
        list_kind: str,
        items: list[dict[str, Any]],
        gone_on: Callable[[int, str], bool] | None = None,
    ):
        self.list_kind = list_kind
        self.items = items
        self.gone_on = gone_on
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: Any) -> Any:
        import kmock

        params = dict(request.params)
        self.calls.append(params)
        token = params.get("continue", "")
        if self.gone_on is not None and self.gone_on(len(self.calls), token):
            # Raised, not returned: a Response returned from a callback makes kmock keep its status
            # for every later request of the same reaction.
            raise kmock.KubernetesError(status=410, reason="Expired", message="continue token too old")
        limit = int(params.get("limit") or 0) or len(self.items) or 1
        start = int(token.removeprefix("offset-")) if token else 0
        page = self.items[start : start + limit]
        more = start + limit < len(self.items)
        return {
            "kind": self.list_kind,
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "12345", "continue": f"offset-{start + limit}" if more else ""},
            "items": page,
        }


def status(code: int, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def forbidden(path: str) -> Any:
    import kmock

    return kmock.Response(status=403, payload=status(403, "Forbidden", f"cannot list {path}"))


def serve(
    kmock: Any,
    objects: dict[str, list[dict[str, Any]]] | None = None,
    overrides: dict[str, Any] | None = None,
    absent: Iterable[str] = ("VerticalPodAutoscaler", "NodePool", "ScaledObject"),
    version: str = "v1.29.4-eks-1552ad0",
) -> dict[str, Paginated]:
    """Register every kind of RESOURCES on the double; return the paginated endpoints by kind.

    ``overrides`` (kind -> reaction) are registered first, so they win; kinds in ``absent`` are not
    registered at all and answer 404 like a missing CRD. Metrics are absent unless overridden.
    """
    objects = objects or {}
    overrides = overrides or {}
    kmock["get /version"] << {"major": "1", "minor": "29+", "gitVersion": version, "platform": "linux/amd64"}
    for kind, reaction in overrides.items():
        kmock[f"get {api_path(kind)}"] << reaction
    endpoints: dict[str, Paginated] = {}
    for kind in RESOURCES:
        if kind in overrides or kind in absent:
            continue
        endpoints[kind] = Paginated(f"{kind}List", objects.get(kind, []))
        kmock[f"get {api_path(kind)}"] << endpoints[kind]
    return endpoints


def header(request: Any, name: str) -> str | None:
    for key, value in dict(request.headers).items():
        if key.lower() == name.lower():
            return value
    return None


def make_pod(namespace: str, name: str, owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{namespace}-{name}",
        "labels": {"app": owner or name, "tier": "web"},
        "annotations": {"example.com/checksum": "0123456789abcdef" * 2},
        "resourceVersion": "1000",
        "creationTimestamp": "2024-01-01T00:00:00Z",
    }
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}", "controller": True}
        ]
    return {
        "metadata": meta,
        "spec": {
            "serviceAccountName": "default",
            "nodeName": "node-1",
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/app:1.2.3",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10},
                    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                    "env": [{"name": "MODE", "value": "prod"}],
                }
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.1",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "image": "app:1.2.3"}],
        },
    }
