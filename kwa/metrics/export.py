"""Where the metrics go: an HTTP ``/metrics`` endpoint, a textfile, a Pushgateway.

A Pushgateway URL may carry ``user:password@``: the credentials are taken out of the URL, sent as
HTTP basic auth, registered with :mod:`redaction`, and never shown — every message names the
gateway by its scheme, host, port and path only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import basic_auth_handler, push_to_gateway, start_wsgi_server, write_to_textfile

from kwa.metrics.collector import KwaCollector

JOB = "kwa"
PUSH_TIMEOUT = 10.0  # seconds: a dead gateway at the end of a run costs at most this, per cluster
PUSHGATEWAY_ENV = "KWA_PUSHGATEWAY"


class MetricsError(Exception):
    """An expected failure (a bad path, an unreachable gateway): one line, no traceback."""


def registry_of(collector: KwaCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def serve(collector: KwaCollector, host: str, port: int) -> tuple[Any, Any]:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread: (server, thread)."""
    try:
        return start_wsgi_server(port, addr=host, registry=registry_of(collector))
    except OSError as exc:
        raise MetricsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def write_textfile(collector: KwaCollector, path: str) -> Path:
    """Write the metrics to ``path`` at once: into a temporary file beside it, then renamed over it,
    so node-exporter's textfile collector never reads half a file."""
    target = Path(path)
    if target.is_dir():
        raise MetricsError(f"--textfile {path}: is a directory; name a file (node-exporter reads *.prom)")
    if not target.parent.is_dir():
        raise MetricsError(f"--textfile {path}: directory {target.parent} does not exist")
    try:
        write_to_textfile(str(target), registry_of(collector))
    except OSError as exc:
        raise MetricsError(f"--textfile {path}: cannot write: {exc.strerror or exc}") from None
    return target


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its userinfo, and the user and password it carried (registered as secrets)."""
    from redaction import register_url

    full = url if "://" in url else f"http://{url}"  # as the Pushgateway client reads a bare host
    register_url(full)
    parts = urlsplit(full)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MetricsError(f"not a Pushgateway URL: {shown_url(url)!r} (http[s]://host[:port][/path])")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    try:
        port = parts.port
    except ValueError:
        raise MetricsError(f"not a Pushgateway URL: {shown_url(url)!r} (bad port)") from None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), user, password


def shown_url(url: str) -> str:
    """The URL as messages show it: no userinfo, query or fragment."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


def push(db: Any, url: str, clusters: list[str] | None = None, timeout: float = PUSH_TIMEOUT) -> list[str]:
    """Push each cluster's metrics to the Pushgateway at ``url`` (job ``kwa``, one group per
    cluster, replacing that group). ``clusters`` None: every cluster with runs. The clusters pushed.
    ``db`` stays open (it is the caller's)."""
    from redaction import redact
    from storage.run_facts import cluster_facts

    gateway, user, password = split_credentials(url)
    shown = shown_url(url)
    try:
        known = [f.cluster_id for f in cluster_facts(db)]
    except Exception as exc:  # StorageUnavailable and the like
        raise MetricsError(f"cannot read kwa's database: {redact(exc)}") from None
    missing = [c for c in clusters or [] if c not in known]
    if missing:  # pushing it would replace its group with an empty one
        from kwa.errors import NotFound

        raise NotFound(
            f"no runs of cluster {missing[0]!r} are stored (clusters with runs: {', '.join(known) or 'none'})"
        )
    names = clusters if clusters is not None else known

    def handler(**kw: Any) -> Callable[[], None]:
        return basic_auth_handler(username=user, password=password, **kw)

    pushed = []
    for cluster in names:
        # Read first (kept for the push): a database that cannot be read must not push an empty
        # group over the cluster's last good one.
        one = KwaCollector(lambda: db, cache_seconds=float("inf"), cluster=cluster)
        list(one.collect())
        if one.last_error:
            raise MetricsError(f"cannot read kwa's database: {one.last_error}")
        try:
            push_to_gateway(
                gateway, JOB, registry_of(one), grouping_key={"cluster": cluster}, timeout=timeout, handler=handler
            )
        except Exception as exc:  # urllib raises URLError, HTTPError, OSError, ValueError…
            raise MetricsError(f"cannot push metrics to {shown}: {redact(_reason(exc))}") from None
        pushed.append(cluster)
    return pushed


def push_after_run(db: Any, cluster_id: str, url: str) -> bool:
    """At the end of ``kwa run``: push the run's cluster; a failure is a warning on stderr, never
    the run's failure (the run is stored already). True when pushed."""
    from redaction import redact

    try:
        push(db, url, [cluster_id])
    except Exception as exc:  # whatever goes wrong here, the run's outcome stands
        print(f"warning: {redact(exc)} (the run itself is recorded as it ended)", file=sys.stderr)
        return False
    print(f"metrics of cluster {cluster_id} pushed to {shown_url(url)}", file=sys.stderr)
    return True


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error
    if reason is not None and not isinstance(reason, str):
        return getattr(reason, "strerror", None) or str(reason)
    return str(exc) or type(exc).__name__


def push_url_from(option: str | None) -> str | None:
    """``--push-metrics`` if given, else ``$KWA_PUSHGATEWAY``; None when neither is set."""
    value = option if option is not None else os.environ.get(PUSHGATEWAY_ENV, "")
    return value.strip() or None
