"""One TLS context per process for Prefect's API clients, instead of one per client.

Prefect 3.8.8 builds a new ``ssl.SSLContext`` in every ``PrefectClient`` and
``SyncPrefectClient`` it constructs, loading certifi's CA bundle each time (about 15 ms of CPU on
the benchmark machine, mostly under the GIL), and it constructs clients throughout a run: the
flow and subflow engines, the events worker, the cancellation watcher. For a loopback
``http://`` API that never uses TLS at all, py-spy over a 10k-object ``kwa run`` found 0.3 s of
the process's CPU in building them (61 samples at 200 Hz); with one shared context, 0.06 s.

A client built without an explicit ``verify`` now gets a context made once per process and per
TLS setting, exactly as Prefect would have made it: ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``
gives a non-verifying one, otherwise ``PREFECT_API_SSL_CERT_FILE`` (or certifi's bundle) is the
trust store. The settings are read for every client, so a changed setting takes effect as it did
before. Nothing mutates a context after it is handed out (Prefect only configures the ones it
builds itself, and httpx uses a given one as it is), so sharing it between clients and threads
is safe: an ``SSLContext`` is thread-safe for making connections.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

_lock = threading.Lock()
_contexts: dict[tuple[bool, str], ssl.SSLContext] = {}
_installed: list[bool] = []


def shared_context(insecure: bool, cafile: str) -> ssl.SSLContext:
    """The process's context for one TLS setting, built on first use as Prefect builds it."""
    key = (insecure, cafile)
    with _lock:
        ctx = _contexts.get(key)
        if ctx is None:
            if insecure:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx = ssl.create_default_context(cafile=cafile)
            _contexts[key] = ctx
        return ctx


def current_context() -> ssl.SSLContext:
    """The context Prefect's settings ask for now."""
    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY

    if PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value():
        return shared_context(True, "")
    return shared_context(False, PREFECT_API_SSL_CERT_FILE.value() or certifi.where())


def install() -> None:
    """Give Prefect's API clients the shared context (idempotent)."""
    with _lock:
        if _installed:
            return
        _installed.append(True)
    from prefect.client import orchestration

    for cls in (orchestration.PrefectClient, orchestration.SyncPrefectClient):
        _wrap(cls)


def _wrap(cls: Any) -> None:
    original = cls.__init__

    def __init__(self: Any, api: Any, *, httpx_settings: dict[str, Any] | None = None, **kw: Any) -> None:
        if not httpx_settings or "verify" not in httpx_settings:
            httpx_settings = {**(httpx_settings or {}), "verify": current_context()}
        original(self, api, httpx_settings=httpx_settings, **kw)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    cls.__init__ = __init__
