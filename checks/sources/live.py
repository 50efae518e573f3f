"""A live cluster as a snapshot: read-only, cluster-wide, paginated list calls in parallel.

Configuration comes from the official ``kubernetes`` client: ``--kubeconfig`` / ``$KUBECONFIG`` /
``~/.kube/config`` (with ``--context``), or the pod's service account (``load_incluster_config``).
Only TLS and auth come from the client; the requests themselves go through the client's own urllib3
pool manager and every response is parsed from raw JSON with :func:`json.loads` into plain dicts.
The generated model classes are never used: deserialising 10,000 objects into them takes tens of
seconds, parsing the JSON takes well under one.

Bounded time. Every request carries its own timeout (``request_timeout``, connect + response
headers) and is sent with urllib3 retries disabled (``retries=False`` per request, and
``Configuration.retries = 0`` for anything else built from the same configuration), so a hung
server costs one timeout per request, not four. ``/version`` is read first: if it cannot be reached
at all (connection refused, timeout, TLS failure) or rejects the credentials (HTTP 401),
:class:`ClusterUnreachable` is raised. After that, a failing resource only lands in
``Snapshot.unavailable``. A request that fails at the transport level (timeout, reset) opens a
circuit breaker: until some request is answered again, kinds that have not started yet are skipped
instead of each waiting for its own timeout, so an API server that answers ``/version`` but hangs
on lists (etcd down) costs about one timeout in total. Skipped kinds are retried in another pass
when a later answer closed the breaker (at most :data:`MAX_PASSES` passes), else recorded as
skipped. If every kind fails at the transport level, :class:`ClusterUnreachable` is raised.

Pagination. Lists use ``limit`` + ``continue``. When a continue token expires (HTTP 410 Gone) the
kind is listed again from the first page, at most :data:`MAX_RELISTS` times; after that it is
recorded as unavailable.

Secrets. Secret values are never needed (catalogue §3 item 7) and must never reach the snapshot,
a log line or an error message. Secrets are therefore requested as *metadata only*, negotiated with

    ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,
    application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`` and ``includeObject=Metadata``

The server-side Table for Secrets has the columns Name, Type, Data (a key count) and Age, and with
``includeObject=Metadata`` each row carries the Secret's ``PartialObjectMetadata``; so one request
per page gives the metadata *and* the ``type`` (which ``PartialObjectMetadataList`` alone lacks and
COST-004 / REL-015 use) without the server ever sending a value. A server that cannot render a
Table falls back to ``PartialObjectMetadataList`` (no ``type`` then). There is deliberately no plain
``application/json`` alternative in the header: a server that supports neither answers 406 and
Secrets are recorded as unavailable rather than fetched in full. Whatever comes back, each Secret
is rebuilt from an allow-list (``apiVersion``, ``kind``, ``metadata``, ``type``) so ``data`` and
``stringData`` are dropped even from a server that ignores the header, and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation (which holds the full manifest,
values included, for Secrets created with ``kubectl apply``) and ``managedFields`` are removed from
the metadata. Response bodies are never put into messages or logs, and neither are request headers.

Metrics. ``metrics.k8s.io/v1beta1`` pods and nodes are listed alongside; ``Snapshot.metrics`` is
``{"pods": {"<namespace>/<pod>": {container: {"cpu": cores, "memory": bytes}}},
"nodes": {node: {"cpu": cores, "memory": bytes}}}``, or None when either list is unavailable
(not installed, forbidden, metrics-server down); the reason is then in ``unavailable`` under
``PodMetrics`` / ``NodeMetrics``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from checks.snapshot import K8sObject, Snapshot
from checks.sources.metrics import parse_node_metrics, parse_pod_metrics

log = logging.getLogger(__name__)

USER_AGENT = "kwa/0.1 (read-only assessment)"
JSON = "application/json"
SECRET_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
)
MAX_RELISTS = 3
MAX_PASSES = 3
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# kind -> (group, version, plural, namespaced). Listed cluster-wide; order = submission order, so
# the usually largest lists start first.
RESOURCES: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True),
    "ReplicaSet": ("apps", "v1", "replicasets", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "EndpointSlice": ("discovery.k8s.io", "v1", "endpointslices", True),
    "Endpoints": ("", "v1", "endpoints", True),
    "Service": ("", "v1", "services", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Job": ("batch", "v1", "jobs", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
    "ReplicationController": ("", "v1", "replicationcontrollers", True),
    "Namespace": ("", "v1", "namespaces", False),
    "Node": ("", "v1", "nodes", False),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "ResourceQuota": ("", "v1", "resourcequotas", True),
    "LimitRange": ("", "v1", "limitranges", True),
    "HorizontalPodAutoscaler": ("autoscaling", "v2", "horizontalpodautoscalers", True),
    "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "IngressClass": ("networking.k8s.io", "v1", "ingressclasses", False),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "PriorityClass": ("scheduling.k8s.io", "v1", "priorityclasses", False),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", False),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", False),
    "APIService": ("apiregistration.k8s.io", "v1", "apiservices", False),
    # CRD-backed add-ons: a 404 only means "not installed".
    "VerticalPodAutoscaler": ("autoscaling.k8s.io", "v1", "verticalpodautoscalers", True),
    "NodePool": ("karpenter.sh", "v1", "nodepools", False),
    "ScaledObject": ("keda.sh", "v1alpha1", "scaledobjects", True),
}
OPTIONAL_KINDS = frozenset({"VerticalPodAutoscaler", "NodePool", "ScaledObject"})

# metrics.k8s.io, listed with the same machinery; keys double as names in ``unavailable``.
METRICS_RESOURCES: dict[str, tuple[str, str, str, bool]] = {
    "PodMetrics": ("metrics.k8s.io", "v1beta1", "pods", True),
    "NodeMetrics": ("metrics.k8s.io", "v1beta1", "nodes", False),
}


class ClusterUnreachable(Exception):
    """The cluster cannot be used at all: unreachable, timing out, or rejecting the credentials."""


class ClusterConfigError(ClusterUnreachable):
    """No usable cluster configuration (missing kubeconfig, unknown context, broken in-cluster setup)."""


# ---- public helpers -----------------------------------------------------------------------------


def kubeconfig_available(kubeconfig: str | None = None, context: str | None = None) -> bool:
    """True when a cluster is configured: an existing kubeconfig file or in-cluster env vars.

    An explicit ``kubeconfig`` counts only if the file exists. ``context`` selects within a
    kubeconfig, so it does not make a cluster available on its own.
    """
    del context  # accepted for symmetry with load_live; a context needs a kubeconfig file anyway
    if kubeconfig is not None:
        return Path(kubeconfig).expanduser().is_file()
    if _default_kubeconfig_files():
        return True
    return _in_cluster_env()


def api_path(kind: str) -> str:
    """The cluster-wide list path of a kind in :data:`RESOURCES` (or a metrics pseudo-kind)."""
    group, version, plural, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
    return f"/api/{version}/{plural}" if not group else f"/apis/{group}/{version}/{plural}"


def resource_label(kind: str) -> str:
    """``apps/deployments``, ``core/pods``: how a kind is named in ``unavailable`` messages."""
    group, _, plural, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
    return f"{group or 'core'}/{plural}"


def parse_server_version(data: dict[str, Any]) -> str | None:
    """``{"gitVersion": "v1.29.4-eks-1552ad0"}`` → ``"1.29.4"``; falls back to major.minor."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", str(data.get("gitVersion") or ""))
    if match:
        return ".".join(match.groups())
    major = re.match(r"\d+", str(data.get("major") or ""))
    minor = re.match(r"\d+", str(data.get("minor") or ""))
    if major and minor:
        return f"{major.group()}.{minor.group()}"
    return None


# ---- loading ------------------------------------------------------------------------------------


def load_live(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    request_timeout: float = 10.0,
    page_size: int = 500,
    workers: int = 8,
    kinds: Iterable[str] | None = None,
) -> Snapshot:
    """List every kind in :data:`RESOURCES` (or just ``kinds``) plus metrics into a live snapshot.

    ``kinds`` may also name the pseudo-kinds ``PodMetrics`` / ``NodeMetrics`` (metrics.k8s.io);
    ``Snapshot.metrics`` is filled only when both are listed (always tried when ``kinds`` is None).
    Raises :class:`ClusterConfigError` when no cluster is configured and :class:`ClusterUnreachable`
    when the API server cannot be used at all.
    """
    selected = _select_kinds(kinds)
    target = _configure(kubeconfig, context)
    target.configuration.retries = 0
    target.configuration.connection_pool_maxsize = max(1, workers) + 2
    from kubernetes.client.rest import RESTClientObject

    rest = RESTClientObject(target.configuration)
    api = _Api(target, rest.pool_manager, request_timeout)
    started = time.perf_counter()
    try:
        server_version = api.server_version()
        lister = _Lister(api, page_size)
        by_kind: dict[str, _Outcome] = {}
        pending = selected
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="kwa-list") as pool:
            for _ in range(MAX_PASSES):
                for outcome in pool.map(lister.list_kind, pending):
                    by_kind[outcome.kind] = outcome
                pending = [kind for kind in pending if by_kind[kind].skipped]
                if not pending or lister.failing is not None:
                    break
    finally:
        rest.pool_manager.clear()

    outcomes = [by_kind[kind] for kind in selected]
    objects: list[K8sObject] = []
    unavailable: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            unavailable[outcome.kind] = outcome.error
        elif outcome.kind in RESOURCES:
            objects.extend(K8sObject(raw, "api", None) for raw in outcome.items)
    listed = [o for o in outcomes if o.kind in RESOURCES]
    if listed and all(o.transport_error for o in listed):
        raise ClusterUnreachable(
            f"the Kubernetes API server at {target.server} answered /version but no list call: {listed[0].error}"
        )
    metrics = None
    pods, nodes = by_kind.get("PodMetrics"), by_kind.get("NodeMetrics")
    if pods is not None and nodes is not None and pods.error is None and nodes.error is None:
        metrics = {"pods": parse_pod_metrics(pods.items), "nodes": parse_node_metrics(nodes.items)}
    log.debug(
        "listed %d objects of %d kinds from %s in %.2fs (%d unavailable)",
        len(objects),
        len(selected),
        target.server,
        time.perf_counter() - started,
        len(unavailable),
    )
    return Snapshot(
        objects=objects,
        mode="live",
        description=f"live cluster {target.label}",
        unavailable=unavailable,
        server_version=server_version,
        metrics=metrics,
        cluster_id=target.cluster_id,
    )


def _select_kinds(kinds: Iterable[str] | None) -> list[str]:
    if kinds is None:
        return [*RESOURCES, *METRICS_RESOURCES]
    wanted = list(dict.fromkeys(kinds))
    unknown = [k for k in wanted if k not in RESOURCES and k not in METRICS_RESOURCES]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join([*RESOURCES, *METRICS_RESOURCES])}")
    order = [*RESOURCES, *METRICS_RESOURCES]
    return sorted(wanted, key=order.index)


# ---- configuration ------------------------------------------------------------------------------


@dataclass
class _Target:
    configuration: Any  # kubernetes.client.Configuration
    server: str  # base URL without credentials, for messages
    label: str  # for the snapshot description
    cluster_id: str


def _default_kubeconfig_files() -> list[str]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in (os.path.expanduser(x) for x in env.split(os.pathsep) if x) if os.path.isfile(p)]
    default = os.path.expanduser("~/.kube/config")
    return [default] if os.path.isfile(default) else []


def _in_cluster_env() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT"))


def _safe_url(url: str) -> str:
    """Scheme, host, port and path of ``url``: never userinfo or a query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}" if parts.scheme else url.split("@")[-1]


def _configure(kubeconfig: str | None, context: str | None) -> _Target:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    if kubeconfig is not None:
        if not Path(kubeconfig).expanduser().is_file():
            raise ClusterConfigError(f"kubeconfig not found: {kubeconfig}")
        files = [str(Path(kubeconfig).expanduser())]
    else:
        files = _default_kubeconfig_files()

    if files:
        path = os.pathsep.join(files)
        try:
            name = context or (config.list_kube_config_contexts(path)[1] or {}).get("name") or ""
            config.load_kube_config(path, context=context, client_configuration=cfg, persist_config=False)
        except ConfigException as exc:
            raise ClusterConfigError(f"cannot use kubeconfig {path}: {exc}") from None
        except Exception as exc:
            # Only the type and position: a YAML error's text quotes the offending line, maybe a token.
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ClusterConfigError(f"cannot read kubeconfig {path}: {type(exc).__name__}{where}") from None
        server = _safe_url(cfg.host)
        return _Target(cfg, server, name or server, name or (urlsplit(cfg.host).hostname or server))

    if context is not None:
        raise ClusterConfigError(f"context {context!r} requested but no kubeconfig found ($KUBECONFIG, ~/.kube/config)")
    if not _in_cluster_env():
        raise ClusterConfigError("no cluster configured: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a pod")
    try:
        config.load_incluster_config(client_configuration=cfg)
    except ConfigException as exc:
        raise ClusterConfigError(f"cannot use the in-cluster service account: {exc}") from None
    server = _safe_url(cfg.host)
    return _Target(cfg, server, f"{server} (in-cluster)", urlsplit(cfg.host).hostname or server)


# ---- HTTP ---------------------------------------------------------------------------------------


class _TransportError(Exception):
    """No HTTP answer: refused, reset, timed out, TLS failure. ``str()`` is safe to show."""

    def __init__(self, message: str, timeout: bool):
        super().__init__(message)
        self.timeout = timeout


class _Api:
    """GET with the configuration's auth headers through the client's pool manager."""

    def __init__(self, target: _Target, pool_manager: Any, request_timeout: float):
        import urllib3

        self.target = target
        self.base = target.configuration.host.rstrip("/")
        self.pool = pool_manager
        self.request_timeout = request_timeout
        self.timeout = urllib3.Timeout(total=request_timeout)
        self._auth_lock = threading.Lock()

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
        # auth_settings() may run a refresh hook (exec plugin, rotated service-account token): one at a time.
        with self._auth_lock:
            settings = self.target.configuration.auth_settings()
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> tuple[int, str, bytes]:
        """``(status, reason, body)``; raises :class:`_TransportError` when there is no HTTP answer."""
        import urllib3

        url = self.base + path + ("?" + urlencode(params) if params else "")
        try:
            resp = self.pool.request(
                "GET",
                url,
                headers=self._headers(accept),
                timeout=self.timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            try:
                body = resp.data
            finally:
                resp.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:  # subclasses ConnectTimeoutError in urllib3 2
            raise _TransportError(_short(exc), timeout=False) from None
        except urllib3.exceptions.TimeoutError:
            raise _TransportError(f"no response within {self.request_timeout:g}s", timeout=True) from None
        except urllib3.exceptions.SSLError as exc:
            raise _TransportError(f"TLS error: {_short(exc)}", timeout=False) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _TransportError(_short(exc), timeout=False) from None
        return resp.status, resp.reason or "", body

    def server_version(self) -> str | None:
        server = self.target.server
        try:
            status, reason, body = self.get("/version")
        except _TransportError as exc:
            raise ClusterUnreachable(f"cannot reach the Kubernetes API server at {server}: {exc}") from None
        if status == 401:
            raise ClusterUnreachable(
                f"the Kubernetes API server at {server} rejected the credentials (HTTP 401 {reason or 'Unauthorized'})"
            )
        if status != 200:
            log.debug("/version answered HTTP %s", status)
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return parse_server_version(data) if isinstance(data, dict) else None


def _short(exc: BaseException) -> str:
    """A one-line reason for a transport error (the innermost cause, without the pool object's repr)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    text = str(exc)
    # urllib3: "<urllib3.connection.HTTPConnection object at 0x..>: Failed to establish ...: [Errno 111] ..."
    text = re.sub(r"^<[^>]*>:\s*", "", text)
    text = re.sub(r"HTTP(S)?Connection(Pool)?\([^)]*\):\s*", "", text)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


# ---- listing ------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    kind: str
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    transport_error: bool = False
    skipped: bool = False


class _Gone(Exception):
    pass


class _Lister:
    def __init__(self, api: _Api, page_size: int):
        self.api = api
        self.page_size = max(1, page_size)
        # The circuit breaker: the last transport failure's reason, cleared by any HTTP answer.
        self.failing: str | None = None

    def list_kind(self, kind: str) -> _Outcome:
        label = resource_label(kind)
        failing = self.failing
        if failing is not None:
            message = f"skipped: {label} (API server stopped responding: {failing})"
            return _Outcome(kind, error=message, transport_error=True, skipped=True)
        started = time.perf_counter()
        try:
            for relist in range(MAX_RELISTS + 1):
                try:
                    items, pages = self._list_all(kind)
                except _Gone:
                    log.debug("continue token expired listing %s (relist %d)", label, relist + 1)
                    continue
                log.debug(
                    "listed %s: %d items, %d pages, %.2fs", label, len(items), pages, time.perf_counter() - started
                )
                return _Outcome(kind, items)
        except _TransportError as exc:
            self.failing = str(exc)
            prefix = "timeout" if exc.timeout else "unreachable"
            return _Outcome(kind, error=f"{prefix}: {label} ({exc})", transport_error=True)
        except _HttpError as exc:
            return _Outcome(kind, error=exc.message(kind, label))
        except Exception as exc:  # a bug or a malformed answer must not sink the other kinds
            # No traceback for Secrets: an exception's text could quote a value.
            log.warning("listing %s failed: %s", label, type(exc).__name__, exc_info=kind != "Secret")
            return _Outcome(kind, error=f"error: {label} (unexpected {type(exc).__name__})")
        return _Outcome(
            kind, error=f"gone: {label} (continue token expired {MAX_RELISTS + 1} times while paging, HTTP 410)"
        )

    def _list_all(self, kind: str) -> tuple[list[dict[str, Any]], int]:
        group, version, _, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
        api_version = f"{group}/{version}" if group else version
        is_secret = kind == "Secret" and kind in RESOURCES
        path = api_path(kind)
        accept = SECRET_ACCEPT if is_secret else JSON
        items: list[dict[str, Any]] = []
        token: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": self.page_size}
            if token:
                params["continue"] = token
            if is_secret:
                params["includeObject"] = "Metadata"
            status, reason, body = self.api.get(path, params, accept)
            self.failing = None
            if status == 410:
                raise _Gone
            if status != 200:
                raise _HttpError(status, reason, body if not is_secret else b"")
            try:
                data = json.loads(body)
            except ValueError:
                raise _HttpError(200, "invalid JSON response", b"") from None
            if not isinstance(data, dict):
                raise _HttpError(200, "response is not a JSON object", b"")
            pages += 1
            if is_secret:
                items.extend(_secret_items(data))
            else:
                page = [item for item in data.get("items") or [] if isinstance(item, dict)]
                for item in page:
                    item["kind"] = kind
                    item["apiVersion"] = api_version
                items.extend(page)
            next_token = (data.get("metadata") or {}).get("continue") or None
            if not next_token:
                return items, pages
            if next_token == token:
                raise _HttpError(200, "server repeated the same continue token", b"")
            token = next_token


class _HttpError(Exception):
    def __init__(self, status: int, reason: str, body: bytes):
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.status_reason = ""
        if body:
            try:
                data = json.loads(body)
                if isinstance(data, dict) and isinstance(data.get("reason"), str):
                    self.status_reason = data["reason"][:60]
            except ValueError:
                pass

    def message(self, kind: str, label: str) -> str:
        status = self.status
        if status == 404 and (kind in OPTIONAL_KINDS or kind in METRICS_RESOURCES):
            return f"not installed: {label} (HTTP 404)"
        words = {401: "unauthorized", 403: "forbidden", 404: "not found", 406: "not acceptable"}
        if status in words:
            return f"{words[status]}: {label} (HTTP {status})"
        if status == 200:
            return f"error: {label} ({self.reason})"
        detail = self.status_reason or self.reason
        return f"error: {label} (HTTP {status}{' ' + detail if detail else ''})"


def _secret_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Secrets from a Table, a PartialObjectMetadataList or (server ignored Accept) a SecretList."""
    out: list[dict[str, Any]] = []
    if data.get("kind") == "Table":
        columns = [str(c.get("name") or "").lower() for c in data.get("columnDefinitions") or [] if isinstance(c, dict)]
        type_at = columns.index("type") if "type" in columns else None
        for row in data.get("rows") or []:
            if not isinstance(row, dict):
                continue
            cells = row.get("cells") or []
            secret_type = cells[type_at] if type_at is not None and type_at < len(cells) else None
            out.append(_safe_secret((row.get("object") or {}).get("metadata"), secret_type))
    else:
        for item in data.get("items") or []:
            if isinstance(item, dict):
                out.append(_safe_secret(item.get("metadata"), item.get("type")))
    return out


def _safe_secret(meta: Any, secret_type: Any) -> dict[str, Any]:
    """A Secret rebuilt from an allow-list: metadata (minus value-bearing fields) and type."""
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    if isinstance(secret_type, str) and secret_type:
        secret["type"] = secret_type
    return secret
