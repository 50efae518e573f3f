"""Exec credential plugins (``users[].user.exec`` in a kubeconfig): bounded in time, and a failure said.

The official client runs the plugin while loading the kubeconfig. Two things it does not do:

* **It does not stop a plugin that never ends.** A plugin stuck on a login that never comes (a
  browser flow on a server, an expired SSO session asking on a closed stdin) held ``kwa run``
  past its ``--run-timeout`` and, without one, for ever. :func:`plugin_time` bounds it.
* **It does not stop when the plugin gives no credential.** It logs why (the plugin's stderr
  included, which may hold a secret) and goes on unauthenticated: every list then answers 401 and
  the reason is lost. :func:`client_errors` takes those log records and
  :func:`raise_if_plugin_failed` stops the read with the reason, redacted, as kubectl does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import redaction
from checks.sources.live.resources import ClusterConfigError
from redaction.controls import one_line, shortened


@contextlib.contextmanager
def client_errors() -> Iterator[list[str]]:
    """The errors the ``kubernetes`` client logs (and otherwise swallows) in this thread meanwhile.

    When an exec credential plugin fails (exits non-zero, cannot be started, prints no credential)
    the client logs the reason on the root logger and goes on with no credential at all; its
    message quotes the plugin's stderr, which may hold a secret. The records are taken here (a
    filter on the root logger, so no handler prints them) for :func:`raise_if_plugin_failed`.
    """
    caught: list[str] = []
    thread = threading.get_ident()

    def take(record: logging.LogRecord) -> bool:
        if record.thread == thread and record.levelno >= logging.ERROR and "kubernetes" in record.pathname:
            caught.append(record.getMessage())
            return False
        return True

    root = logging.getLogger()
    root.addFilter(take)
    try:
        yield caught
    finally:
        root.removeFilter(take)


ENV_PLUGIN_TIMEOUT = "KWA_EXEC_PLUGIN_TIMEOUT"
PLUGIN_TIMEOUT = 120.0  # room for a person to answer a plugin's login prompt on the terminal
_plugin_limit = threading.local()


class _PluginProcess(subprocess.Popen):  # type: ignore[type-arg]
    """The client's exec plugin process, waited for at most :func:`_plugin_seconds`, then killed.

    The client waits for its plugin without a limit: a plugin stuck on a login that never comes
    (a browser flow on a server, an expired SSO session asking on a closed stdin) held ``kwa run``
    past its ``--run-timeout`` and, without one, for ever.
    """

    def communicate(self, input: Any = None, timeout: float | None = None) -> Any:
        limit = _plugin_seconds() if timeout is None else timeout
        try:
            return super().communicate(input, limit)
        except subprocess.TimeoutExpired:
            self.kill()
            # A grandchild may hold the pipes open: wait for them a little, not for it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                super().communicate(timeout=2.0)
            raise PluginTimeout(f"exec: the plugin did not finish within {limit:.0f}s and was stopped") from None


class PluginTimeout(Exception):
    pass


def _plugin_seconds() -> float:
    limit = getattr(_plugin_limit, "seconds", None)
    if limit is not None:
        return limit
    text = os.environ.get(ENV_PLUGIN_TIMEOUT, "").strip()
    try:
        return max(1.0, float(text)) if text else PLUGIN_TIMEOUT
    except ValueError:
        return PLUGIN_TIMEOUT


@contextlib.contextmanager
def plugin_time(deadline: float | None) -> Iterator[None]:
    """Exec plugins run by the client in this thread meanwhile are stopped after
    ``$KWA_EXEC_PLUGIN_TIMEOUT`` seconds (default 120) or at ``deadline``, whichever is first.

    The client's module is given a ``subprocess`` whose ``Popen`` is :class:`_PluginProcess` (once,
    for every thread: a plugin re-run to refresh an expired token is bounded too, by the setting).
    """
    from kubernetes.config import exec_provider

    if not isinstance(exec_provider.subprocess, SimpleNamespace):
        exec_provider.subprocess = SimpleNamespace(Popen=_PluginProcess, PIPE=subprocess.PIPE)
    limit = _plugin_seconds()
    if deadline is not None:
        limit = max(0.1, min(limit, deadline - time.monotonic()))
    before = getattr(_plugin_limit, "seconds", None)
    _plugin_limit.seconds = limit
    try:
        yield
    finally:
        _plugin_limit.seconds = before


def raise_if_plugin_failed(
    user: dict[str, Any], user_name: str | None, errors: list[str], cfg: Any, where: str
) -> None:
    """Refuse to go on unauthenticated when the user's exec plugin gave no credential (kubectl
    refuses too): every list would be refused, 401 on each kind, and the reason lost."""
    exec_ = user.get("exec")
    if not isinstance(exec_, dict) or not errors:
        return
    if cfg.api_key.get("authorization") or cfg.api_key.get("BearerToken") or cfg.cert_file:
        return  # another credential of the user was used (the client's order: token before exec)
    command = one_line(shortened(str(exec_.get("command") or "?"), 80))
    why = one_line(shortened(redaction.redact(errors[-1]), 300))
    raise ClusterConfigError(
        f"cannot use {where}: the exec credential plugin of user '{user_name or '?'}' "
        f"({command}) gave no credential: {why}"
    )
