"""A live cluster as a snapshot: read-only, cluster-wide, paginated list calls in parallel.

Configuration comes from the official ``kubernetes`` client: ``--kubeconfig`` / ``$KUBECONFIG`` /
``~/.kube/config`` (with ``--context``), or the pod's service account (``load_incluster_config``).
Only TLS and auth come from the client; the requests themselves go through the client's own urllib3
pool manager and every response is parsed from raw JSON with :func:`json.loads` into plain dicts.
The generated model classes are never used: deserialising 10,000 objects into them takes tens of
seconds, parsing the JSON takes well under one.

The package: :mod:`~checks.sources.live.resources` (what is listed, the exceptions),
:mod:`~checks.sources.live.kubeconfig` (configuration, credentials registered for redaction, tokens
checked), :mod:`~checks.sources.live.transport` (one bounded GET, retries),
:mod:`~checks.sources.live.listing` (pages, relists, messages) and this module (the whole read).

Bounded time. Every request has a per-read timeout (``request_timeout``: connect, and each socket
read) and a total deadline (``request_total``, and the caller's ``deadline``), is sent with urllib3
retries disabled (``retries=False`` per request, ``Configuration.retries = 0`` for anything else
built from the same configuration) and retried only as :mod:`~checks.sources.live.transport`
documents (429/503 with ``Retry-After``, 502/504, one reset). ``deadline`` (a ``time.monotonic()``
value) bounds the whole read: when it passes, every request in flight is cut and
:class:`DeadlineExceeded` says what was still being read. ``/version`` is read first: if it cannot
be reached at all (connection refused, timeout, TLS failure) or rejects the credentials (HTTP
401), :class:`ClusterUnreachable` is raised. After that, a failing resource only lands in
``Snapshot.unavailable``. Requests that fail at the transport level (timeout, reset) for two kinds
with no answer in between open a circuit breaker: until some request is answered again, kinds that
have not started yet are skipped instead of each waiting for its own timeout, but one of them at a
time is sent as a probe. So an API server that answers ``/version`` but hangs on lists (etcd down)
costs about two timeouts in total (the first requests, then one probe), while one kind that hangs
or resets stays that kind's problem. Skipped kinds are retried in another pass when a later answer
closed the breaker (at most :data:`MAX_PASSES` passes), else recorded as skipped. If every kind
fails at the transport level, :class:`ClusterUnreachable` is raised; if the credentials may list
none of them (401/403 on every kind), :class:`NothingListable`.

Bounded size. A response body may hold at most ``max_response_bytes`` (64 MiB) after
decompression; a kind whose page exceeds it is asked for in pages ten times smaller (twice at
most), then recorded as ``too large``.

Pagination. Lists use ``limit`` (at most :data:`MAX_PAGE_SIZE`, 500, whatever ``page_size`` says) +
``continue``; on kube-apiserver 1.33 and later (:data:`CACHE_FROM_VERSION`, or as
``$KWA_LIVE_WATCH_CACHE`` says) the first page of each kind asks for the API server's watch cache
(``resourceVersion=0&resourceVersionMatch=NotOlderThan``), as :mod:`~checks.sources.live.listing`
details; before it, every list is a consistent read in pages. When a continue token expires (HTTP
410 Gone) the kind is listed again from the first page, at most :data:`MAX_RELISTS` times; after
that it is recorded as unavailable.

Load. At most :data:`MAX_CONCURRENT_LISTS` list calls are in flight at once (``workers`` may lower
it, not raise it): one thread per kind, each reading its pages one after the other. Every request
is counted (:mod:`~checks.sources.live.stats`); ``Snapshot.api_stats`` holds the report and one log
line sums it up at the end of the read. docs/api-load.md measures what a run costs a large cluster.

Secrets. Secret values are never needed (docs/catalogue.md#least-privilege) and must never reach the snapshot,
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

import logging
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from checks.snapshot import K8sObject, Snapshot
from checks.sources.live.kubeconfig import configure, default_kubeconfig_files, in_cluster_env, safe_url
from checks.sources.live.listing import HTML_PAGE, MAX_PAGE_SIZE, MAX_RELISTS, Lister, Outcome
from checks.sources.live.resources import (
    JSON,
    LAST_APPLIED,
    METRICS_RESOURCES,
    OPTIONAL_KINDS,
    RESOURCES,
    SECRET_ACCEPT,
    USER_AGENT,
    ClusterConfigError,
    ClusterUnreachable,
    DeadlineExceeded,
    NothingListable,
    api_path,
    parse_server_version,
    resource_label,
)
from checks.sources.live.stats import ApiStats, summary_line
from checks.sources.live.transport import DEFAULT_MAX_RESPONSE_BYTES, Api, TransportError
from checks.sources.metrics import parse_node_metrics, parse_pod_metrics

__all__ = [
    "CACHE_FROM_VERSION",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "JSON",
    "LAST_APPLIED",
    "MAX_CONCURRENT_LISTS",
    "MAX_PAGE_SIZE",
    "MAX_PASSES",
    "MAX_RELISTS",
    "METRICS_RESOURCES",
    "OPTIONAL_KINDS",
    "RBAC_HINT",
    "RESOURCES",
    "SECRET_ACCEPT",
    "USER_AGENT",
    "ClusterConfigError",
    "ClusterUnreachable",
    "DeadlineExceeded",
    "NothingListable",
    "api_path",
    "kubeconfig_available",
    "load_live",
    "parse_server_version",
    "resource_label",
]

log = logging.getLogger(__name__)

MAX_PASSES = 3
# List calls in flight at once, at most (docs/api-load.md#concurrency: listing 100,000 objects
# through the benchmark's double takes about as long with 4 as with 8, and a quarter of the
# API server's concurrent LIST work is left for everyone else).
MAX_CONCURRENT_LISTS = 4
# From this version kube-apiserver streams a list answer as it encodes it (KEP-5116); before, it
# builds the whole answer in memory first, and the watch cache answers resourceVersion=0 whole
# (limit ignored): "auto" asks for the cache only from here (docs/api-load.md#the-watch-cache).
CACHE_FROM_VERSION = (1, 33)
RBAC_HINT = "check the ClusterRole in deploy/kubernetes/assessor-rbac.yaml"


def kubeconfig_available(kubeconfig: str | None = None, context: str | None = None) -> bool:
    """True when a cluster is configured: an existing kubeconfig file or in-cluster env vars.

    An explicit ``kubeconfig`` counts only if the file exists. ``context`` selects within a
    kubeconfig, so it does not make a cluster available on its own.
    """
    del context  # accepted for symmetry with load_live; a context needs a kubeconfig file anyway
    if kubeconfig is not None:
        return Path(kubeconfig).expanduser().is_file()
    if default_kubeconfig_files():
        return True
    return in_cluster_env()


def load_live(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    request_timeout: float = 10.0,
    page_size: int | None = None,
    workers: int | None = None,
    kinds: Iterable[str] | None = None,
    deadline: float | None = None,
    request_total: float | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    watch_cache: bool | None = None,
    compress: bool = True,
) -> Snapshot:
    """List every kind in :data:`RESOURCES` (or just ``kinds``) plus metrics into a live snapshot.

    ``kinds`` may also name the pseudo-kinds ``PodMetrics`` / ``NodeMetrics`` (metrics.k8s.io);
    ``Snapshot.metrics`` is filled only when both are listed (always tried when ``kinds`` is None).
    ``request_timeout`` bounds connecting and each socket read; ``request_total`` one request
    (default ``max(60, 6 x request_timeout)`` s); ``deadline`` (a ``time.monotonic()`` value, None:
    none) the whole read; ``max_response_bytes`` one response body, decompressed. ``page_size``
    (default ``$KWA_LIVE_PAGE_SIZE``, else 500) is clamped to 1..:data:`MAX_PAGE_SIZE` and
    ``workers`` (list calls in flight; default ``$KWA_LIVE_CONCURRENCY``, else
    :data:`MAX_CONCURRENT_LISTS`) to 1..:data:`MAX_CONCURRENT_LISTS`. ``watch_cache`` True asks for
    the watch cache on first pages, False never (every list a consistent read in pages); None (the
    default) follows ``$KWA_LIVE_WATCH_CACHE`` (``on``, ``off``, ``auto``: on for API servers from
    :data:`CACHE_FROM_VERSION`, see docs/api-load.md). ``compress=False`` asks for uncompressed answers.

    Raises :class:`ClusterConfigError` when no usable cluster configuration exists,
    :class:`DeadlineExceeded` when ``deadline`` passes first, :class:`NothingListable` when the
    credentials may list none of the kinds, and :class:`ClusterUnreachable` when the API server
    cannot be used at all. All are ``ClusterUnreachable``; their messages never carry a credential.
    """
    selected = _select_kinds(kinds)
    if deadline is not None and deadline <= time.monotonic():
        raise DeadlineExceeded("the deadline had passed before reading the cluster began")
    target = configure(kubeconfig, context, deadline)
    workers = min(MAX_CONCURRENT_LISTS, max(1, _setting(workers, "KWA_LIVE_CONCURRENCY", MAX_CONCURRENT_LISTS)))
    page_size = min(MAX_PAGE_SIZE, max(1, _setting(page_size, "KWA_LIVE_PAGE_SIZE", MAX_PAGE_SIZE)))
    cache_mode = {True: "on", False: "off"}.get(watch_cache) if watch_cache is not None else None
    if cache_mode is None:
        cache_mode = os.environ.get("KWA_LIVE_WATCH_CACHE", "auto").strip().lower()
        if cache_mode not in ("on", "off", "auto"):
            raise ClusterConfigError(f"KWA_LIVE_WATCH_CACHE must be on, off or auto (got {cache_mode[:20]!r})")
    stats = ApiStats(page_size=page_size, concurrency=workers, watch_cache=cache_mode != "off")
    target.configuration.retries = 0
    target.configuration.connection_pool_maxsize = workers + 2
    from kubernetes.client.rest import RESTClientObject

    rest = RESTClientObject(target.configuration)
    api = Api(
        target,
        rest.pool_manager,
        request_timeout=request_timeout,
        request_total=request_total,
        deadline=deadline,
        max_response_bytes=max_response_bytes,
        stats=stats,
        compress=compress,
    )
    started = time.perf_counter()
    try:
        server_version = _server_version(api)
        use_cache = cache_mode == "on" or (cache_mode == "auto" and _streams_whole_lists(server_version))
        if cache_mode == "auto" and not use_cache:
            stats.watch_cache = f"not used: API server {server_version or 'version unknown'} (before 1.33)"
        lister = Lister(api, page_size, use_cache)
        by_kind: dict[str, Outcome] = {}
        pending = selected
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kwa-list") as pool:
            for _ in range(MAX_PASSES):
                for outcome in pool.map(lister.list_kind, pending):
                    by_kind[outcome.kind] = outcome
                pending = [kind for kind in pending if by_kind[kind].skipped]
                if not pending or lister.failing is not None or api.remaining() <= 0:
                    break
    finally:
        api.close()
        rest.pool_manager.clear()
        stats.finish()

    outcomes = [by_kind[kind] for kind in selected]
    _raise_if_unusable(target.server, outcomes, time.perf_counter() - started)
    objects: list[K8sObject] = []
    unavailable: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            unavailable[outcome.kind] = outcome.error
        elif outcome.kind in RESOURCES:
            objects.extend(K8sObject(raw, "api", None) for raw in outcome.items)
    metrics = None
    pods, nodes = by_kind.get("PodMetrics"), by_kind.get("NodeMetrics")
    if pods is not None and nodes is not None and pods.error is None and nodes.error is None:
        metrics = {"pods": parse_pod_metrics(pods.items), "nodes": parse_node_metrics(nodes.items)}
    report = stats.as_dict()
    log.info(
        "listed %d objects of %d kinds from %s (%d unavailable); API server: %s",
        len(objects),
        len(selected),
        target.server,
        len(unavailable),
        summary_line(report),
    )
    return Snapshot(
        objects=objects,
        mode="live",
        description=f"live cluster {target.label}",
        unavailable=unavailable,
        server_version=server_version,
        metrics=metrics,
        cluster_id=target.cluster_id,
        api_stats=report,
    )


def _streams_whole_lists(version: str | None) -> bool:
    """True for an API server at or after :data:`CACHE_FROM_VERSION` (``"1.33.1"``, ``"1.34"``)."""
    parts = (version or "").split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= CACHE_FROM_VERSION
    except (ValueError, IndexError):
        return False


def _setting(value: int | None, env: str, default: int) -> int:
    """``value``, else the environment variable ``env`` (a whole number), else ``default``."""
    if value is not None:
        return value
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:  # '²' is a digit int() refuses
        raise ClusterConfigError(f"{env} must be a whole number from 1 (got {text[:20]!r})")
    return int(text)


def _server_version(api: Api) -> str | None:
    import json

    server = api.target.server
    try:
        response = api.get("/version")
    except TransportError as exc:
        if exc.deadline:
            raise DeadlineExceeded(
                f"reading the cluster at {server} did not finish before the deadline: /version ({exc})"
            ) from None
        proxy = getattr(api.target.configuration, "proxy", None)
        via = f" through the proxy {safe_url(str(proxy))}" if proxy else ""
        raise ClusterUnreachable(f"cannot reach the Kubernetes API server at {server}{via}: {exc}") from None
    except Exception as exc:  # BodyTooLarge or a bug: /version is optional
        log.debug("/version failed: %s", type(exc).__name__)
        return None
    if response.status == 401:
        raise ClusterUnreachable(
            f"the Kubernetes API server at {server} rejected the credentials (HTTP 401 {response.reason})"
        )
    if response.status != 200:
        log.debug("/version answered HTTP %s", response.status)
        return None
    try:
        data = json.loads(response.body)
    except (ValueError, RecursionError):
        return None
    return parse_server_version(data) if isinstance(data, dict) else None


def _raise_if_unusable(server: str, outcomes: list[Outcome], elapsed: float) -> None:
    """A read cut by the deadline, refused everything, or answered no list call: nothing to assess."""
    late = [o for o in outcomes if o.deadline]
    if late:
        done = sum(1 for o in outcomes if o.error is None)
        in_flight = [o for o in late if o.transport_error]
        names = [resource_label(o.kind) for o in in_flight]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        why = (in_flight[0].error or "").partition("(")[2].rstrip(")") if in_flight else ""
        still = f"{shown} {'was' if len(names) == 1 else 'were'} still being read ({why}); " if in_flight else ""
        not_started = len(late) - len(in_flight)
        raise DeadlineExceeded(
            f"reading the cluster at {server} did not finish before the deadline "
            f"(after {elapsed:.0f}s of reading): {still}{done} of {len(outcomes)} resources were read"
            + (f", {not_started} not started" if not_started else "")
        )
    listed = [o for o in outcomes if o.kind in RESOURCES]
    if listed and all(o.transport_error for o in listed):
        raise ClusterUnreachable(
            f"the Kubernetes API server at {server} answered /version but no list call: {listed[0].error}"
        )
    # Every Kubernetes API server serves the core group: when even Pods and Namespaces are "not
    # found", the URL reaches some other web server (a path prefix left out, the wrong port).
    core = [o for o in listed if RESOURCES[o.kind][0] == ""]
    if core and all(o.status == 404 for o in listed):
        raise ClusterUnreachable(
            f"the server at {server} is not a Kubernetes API server: it answered HTTP 404 to all "
            f"{len(listed)} list calls, the core resources ({resource_label(core[0].kind)}, …) included; "
            "check the server URL in the kubeconfig (its port, or a path prefix a proxy needs)"
        )
    # A sign-in portal or a web proxy answering for the API server: a page, or a redirect to one.
    if listed and all(o.error and o.error.endswith(f"({HTML_PAGE})") for o in listed):
        answer = "an HTML page, not the Kubernetes API's JSON"
    elif listed and all(o.status is not None and 300 <= o.status < 400 for o in listed):
        answer = f"a redirect (HTTP {listed[0].status}), as a sign-in page does"
    else:
        answer = ""
    if answer:
        raise ClusterUnreachable(
            f"the server at {server} answered every list call with {answer}: a sign-in page or a web proxy "
            "is answering instead of the API server; check the server URL and proxy-url in the kubeconfig"
        )
    # Add-ons that are simply not installed do not count: what was there to list was refused.
    required = [o for o in listed if not (o.kind in OPTIONAL_KINDS and o.status == 404)]
    if required and all(o.status in (401, 403) for o in required):
        codes = sorted({o.status for o in required})
        how = " or ".join({401: "401 Unauthorized", 403: "403 Forbidden"}[c] for c in codes)
        raise NothingListable(
            f"the credentials could not list any of the {len(required)} resources kwa reads ({how} on all): {RBAC_HINT}"
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
