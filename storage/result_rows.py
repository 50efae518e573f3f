"""The row format of ``assessments`` as the writers build it: the columns, a result as a tuple, result ids.

Split out of :mod:`storage.results` (which re-exports every name here) so that what a row *is* — the
column order, :func:`row_values` and :func:`rows_json` that evaluation uses where a check ran, the
result-id scheme — reads apart from how :class:`~storage.results.ResultWriter` writes rows.

Result ids
----------
``asm_<YYYYMMDD>_<HHMMSS>_<checkslug>_<runhex><seq>``, for example
``asm_20260216_103045_sec001_a7f3b9000000`` for the first result of run
``run_20260216_103045_a7f3b9``:

* ``YYYYMMDD_HHMMSS`` and ``runhex`` (6 hex digits) come from the run id; for a run id of another
  shape the timestamp is the run's ``requested_at`` (UTC) and ``runhex`` the first 6 hex digits of
  the SHA-1 of the run id;
* ``checkslug`` is the check id lower-cased with everything but ``[a-z0-9]`` removed
  (``SEC-001`` → ``sec001``);
* ``seq`` is a per-run sequence number in lower-case hex, zero-padded to at least 6 digits
  (16,777,216 results before it grows a digit; it never wraps).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from redaction import redact

__all__ = [
    "COLUMNS",
    "ROW_FIELDS",
    "check_slug",
    "result_id_prefix",
    "result_values",
    "row_values",
    "rows_json",
]

COLUMNS = (
    "id",
    "run_id",
    "pillar",
    "check_id",
    "check_name",
    "severity",
    "status",
    "object_kind",
    "object_namespace",
    "object_name",
    "container",
    "message",
    "remediation",
    "reason",
    "source",
    "source_line",
    "source_column",
    "source_end_line",
    "field_path",
    "field_line",
    "field_column",
    "details",
    "assessed_at",
    "duration_ms",
)
_RUN_ID = re.compile(r"^run_(\d{8})_(\d{6})_([0-9a-f]{6})$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


# The per-result part of a row (a run of :data:`COLUMNS`), in the order
# :meth:`ResultWriter.add_values` takes it.
ROW_FIELDS = COLUMNS[COLUMNS.index("status") : COLUMNS.index("details") + 1]


# Statuses whose message may quote an exception or an API server's answer: redacted before they are
# stored. A verdict's message is built by the check from object names and numbers and never quotes a
# free-text field (env values, args, annotations, data, URLs): tests/redaction/test_verdicts.py plants
# credentials in all of those and finds none in any verdict of the 100 checks, so verdicts (the many
# rows of a large run) are stored as they are.
_REDACTED_STATUSES = frozenset({"error", "timeout"})
# A status's text by member: a dict lookup, not Enum's ``value`` property (a Python-level
# descriptor), once per result.
_STATUS_VALUES: dict[Any, str] = {}


def row_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A result row (a dict shaped like ``Result.as_row()``) as a :data:`ROW_FIELDS` tuple, with
    ``details`` already JSON text (PostgreSQL casts it to JSONB); an error's message redacted."""
    details = row.get("details")
    message = row.get("message")
    if message and row["status"] in _REDACTED_STATUSES:
        message = redact(message)
    return (
        row["status"],
        row.get("object_kind"),
        row.get("object_namespace"),
        row.get("object_name"),
        row.get("container"),
        message,
        row.get("remediation"),
        row.get("reason"),
        row.get("source"),
        row.get("source_line"),
        row.get("source_column"),
        row.get("source_end_line"),
        row.get("field_path"),
        row.get("field_line"),
        row.get("field_column"),
        None if details is None else _dumps(details),
    )


def result_values(r: Any) -> tuple[Any, ...]:
    """``row_values(r.as_row())`` for a :class:`checks.model.Result` (read by attribute), without the
    dict in between: one call per result of a run, 2.6 million at 400,000 objects."""
    status = _STATUS_VALUES.get(r.status)
    if status is None:
        status = _STATUS_VALUES[r.status] = r.status.value
    message = r.message
    if message and status in _REDACTED_STATUSES:
        message = redact(message)
    details = r.details
    return (
        status,
        r.kind,
        r.namespace,
        r.name,
        r.container,
        message,
        r.remediation,
        r.reason,
        r.source,
        r.line,
        r.column,
        r.end_line,
        r.field_path,
        r.field_line,
        r.field_column,
        None if details is None else _dumps(details),
    )


def rows_json(values: Sequence[tuple[Any, ...]]) -> bytes:
    """:data:`ROW_FIELDS` tuples as the JSON array :meth:`ResultWriter.add_json` takes."""
    return orjson.dumps(values)


def check_slug(check_id: str) -> str:
    return _NOT_SLUG.sub("", str(check_id).lower()) or "check"


def result_id_prefix(run_id: str, requested_at: datetime | None = None) -> tuple[str, str]:
    """``("asm_<YYYYMMDD>_<HHMMSS>_", "<runhex>")`` for a run (see the module docstring)."""
    m = _RUN_ID.match(run_id)
    if m:
        return f"asm_{m.group(1)}_{m.group(2)}_", m.group(3)
    stamp = f"{requested_at:%Y%m%d_%H%M%S}" if requested_at is not None else "00000000_000000"
    return f"asm_{stamp}_", hashlib.sha1(run_id.encode()).hexdigest()[:6]
