"""Opaque page cursors: URL-safe base64 of the last row's key plus a fingerprint of the filters.

Split from storage.queries (which re-exports these names): result listings and run listings page
with the same cursor format, and it is the one place that parses input a user may have edited, so
it is kept small enough to read whole. A cursor replayed with other filters is refused rather than
silently paging a different list.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

from storage.query_model import QueryError

MAX_CURSOR_CHARS = 2_048  # a real cursor is ~150 characters


def encode_cursor(fingerprint: str, key: Sequence[str]) -> str:
    raw = json.dumps({"v": 1, "f": fingerprint, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, size: int) -> list[str]:
    """The sort key a cursor carries; :class:`QueryError` for anything :func:`encode_cursor` did not make."""
    ok, data, key = False, {}, []
    if isinstance(cursor, str) and 0 < len(cursor) <= MAX_CURSOR_CHARS and cursor.isascii():
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            if isinstance(data, dict):
                key = data.get("k")
                ok = (
                    data.get("v") == 1
                    and isinstance(key, list)
                    and len(key) == size
                    and all(isinstance(k, str) and 0 < len(k) <= 512 for k in key)
                )
        # RecursionError: JSON nested thousands deep
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
            ok = False
    if not ok:
        raise QueryError("invalid cursor: pass the next_cursor value of a previous page unchanged")
    if data.get("f") != fingerprint:
        raise QueryError("this cursor belongs to a listing with other filters: repeat the same filters, or drop it")
    return key
