"""The one place credentials are masked before any text leaves kwa.

Every error message, log line, stored error and Prefect state message passes through
:func:`redact` before it is printed, logged, stored or sent. Two layers:

* known values (:mod:`redaction.known`): whatever kwa itself reads as a credential (a kubeconfig's
  token, token file, password, client key, an exec plugin's or auth provider's token, a proxy's or
  server URL's userinfo, the database URL's password, ``PREFECT_API_KEY``) is registered with
  :func:`register` the moment it is read, and every later occurrence is masked, in whatever
  escaped form it appears (raw, stripped, line by line, Python and bytes repr, JSON, URL-encoded);
* shapes (:mod:`redaction.shapes`): text that looks like a credential even when kwa never saw its
  value (``Bearer …``, ``Authorization:`` headers, ``user:password@`` in URLs,
  ``token:``/``password:``/``client-key-data:`` fields, PEM private keys, long base64 key data).

:func:`install` (:mod:`redaction.hooks`) puts the layer under the whole process: a logging
record factory, the exception hooks, optionally redacting ``sys.stdout``/``sys.stderr`` and
Prefect's exception-to-state messages and API request bodies.

This package sits below every other kwa package (checks, storage, flows, the CLI all import it)
and imports nothing of kwa's; Prefect is imported only by ``install(prefect=True)``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from redaction.known import MIN_LENGTH, Registry
from redaction.shapes import MASK, mask, suspicious

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "forget_all",
    "install",
    "known_count",
    "needs_redaction",
    "redact",
    "redact_bytes",
    "redact_obj",
    "register",
    "register_basic_auth",
    "register_environment",
    "register_url",
]

_registry = Registry()
# Environment variables whose values are credentials, by name.
_SECRET_ENV = re.compile(
    r"(?:^|_)(?:TOKEN|PASSWORD|PASSWD|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|API_KEY|AUTH_STRING|SESSION_TOKEN)$"
)
_URL_ENV = ("KWA_DATABASE_URL", "PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
            "https_proxy", "http_proxy", "all_proxy")  # fmt: skip


def register(*values: str | bytes | None) -> None:
    """Remember credential values so that :func:`redact` masks them wherever they appear.

    Values shorter than :data:`MIN_LENGTH` characters (after stripping) are ignored; bytes are
    decoded as UTF-8 (undecodable bytes replaced).
    """
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value:
            _registry.add(value)


def register_url(url: str | None) -> None:
    """Register the userinfo of ``url`` (its password; the user name too when there is no password,
    as in ``https://<token>@host``), raw and percent-decoded."""
    if not url or "@" not in url:
        return
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return
    if parts.password:
        register(parts.password, unquote(parts.password))
    elif parts.username:
        register(parts.username, unquote(parts.username))


def register_basic_auth(username: str | None, password: str | None) -> None:
    """A basic-auth password, and the ``user:password`` pair and its base64 (the header's form)."""
    if not password:
        return
    pair = f"{username or ''}:{password}"
    register(password, pair, base64.b64encode(pair.encode("utf-8")).decode("ascii"))


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Register the credentials kwa's environment carries: ``PREFECT_API_KEY``, passwords in the
    database and Prefect URLs, proxy userinfo, and any variable named like a secret
    (``*_TOKEN``, ``*_PASSWORD``, ``*_SECRET``, ``*_API_KEY``, ``*_AUTH_STRING``, …)."""
    env = os.environ if environ is None else environ
    for name in _URL_ENV:
        register_url(env.get(name))
    for name, value in env.items():
        if _SECRET_ENV.search(name.upper()):
            if name.upper().endswith("AUTH_STRING") and ":" in value:
                user, _, password = value.partition(":")
                register_basic_auth(user, password)
            register(value)


def redact(text: Any) -> str:
    """``text`` as a string with every known credential and credential-shaped token masked."""
    out = text if isinstance(text, str) else str(text)
    if not out:
        return out
    return mask(_registry.mask(out, MASK))


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for UTF-8 bytes (undecodable bytes pass through unchanged)."""
    text = data.decode("utf-8", "surrogateescape")
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8", "surrogateescape")


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value with every string in it redacted (mapping keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(k) if isinstance(k, str) else k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_obj(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_obj(v) for v in value)
    return value


def needs_redaction(text: str) -> bool:
    """Whether :func:`redact` could change ``text``: cheaper than redacting a large document."""
    return _registry.found_in(text) or suspicious(text)


def known_count() -> int:
    """How many credential values are registered (for tests and diagnostics)."""
    return len(_registry)


def forget_all() -> None:
    """Forget every registered value (tests only: a process never unlearns a credential)."""
    _registry.clear()


def install(*, streams: bool = False, prefect: bool = False) -> None:
    """Put redaction under the whole process (idempotent): see :mod:`redaction.hooks`."""
    from redaction.hooks import install as _install

    _install(streams=streams, prefect=prefect)
