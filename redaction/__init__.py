"""The one place credentials are masked before any text leaves kwa.

Every error message, log line, stored error and Prefect state message passes through
:func:`redact` before it is printed, logged, stored or sent. Two layers:

* known values: whatever kwa itself reads as a credential (a kubeconfig's token, password, client
  key, an exec plugin's token, a database password) is registered with :func:`register` the
  moment it is read, and every later occurrence is masked, in whatever escaped form it appears;
* shapes: text that looks like a credential even when kwa never saw its value (``Bearer …``,
  ``Authorization:`` headers, ``user:password@`` in URLs, ``token:``/``password:`` fields,
  PEM private keys, long base64 key data).

This package sits below every other kwa package (checks, storage, flows, the CLI all import it)
and imports nothing of kwa's.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
_lock = threading.Lock()
_known: set[str] = set()
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")


def register(*values: str | bytes | None) -> None:
    """Remember credential values so that :func:`redact` masks them wherever they appear."""
    with _lock:
        for value in values:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if value and len(value.strip()) >= 4:
                _known.add(value)
                _known.add(value.strip())


def redact(text: Any) -> str:
    """``text`` as a string with every known credential and credential-shaped token masked."""
    out = text if isinstance(text, str) else str(text)
    for value in sorted(_known, key=len, reverse=True):
        if value in out:
            out = out.replace(value, MASK)
    return _BEARER.sub(r"\1" + MASK, out)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message (and its arguments) in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
