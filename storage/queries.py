"""Read-only queries for the presentation layer (``kwa query …``, ``kwa runs …``).

Every filter value travels as a bound parameter (SQLAlchemy Core expressions; no SQL text is
ever built from input), so quotes, ``%``, ``_`` or ``'; DROP TABLE`` in a filter are just
strings that match nothing.

Ordering and pagination
-----------------------
Results are listed findings first (``sort="severity"``, the default): run by run (oldest first),
then by severity (critical to info), check id, object (kind, namespace, name) and container, and
last by result id, so the order is total. ``sort="id"`` keeps the order the run stored them in,
``(run_id, id)``: check by check as the checks wrote them (the id is
``asm_<run stamp>_<check slug>_<run hex><sequence>``). Runs are ordered newest request first,
``(requested_at, run_id)`` descending. Every order is total, so pages never overlap or skip rows.

Two ways to page: ``offset`` (the AssessmentQuery contract, docs/query.md#pagination) and an opaque ``cursor``
(as run listings page): URL-safe base64 of the last row's key plus a fingerprint of the
filters and the order, so a cursor replayed with other filters is refused instead of silently
paging a different list. Keyset paging reads the next page from where the last one ended
however deep it is (for the severity order, the last row's sort values are read back by its id).

Errors
------
:class:`~storage.runs.RunNotFound`, :class:`ResultNotFound`, :class:`ClusterNotFound`,
:class:`NoRuns` (the database has no run at all) and :class:`QueryError` (a malformed cursor or
an unknown filter value) carry messages meant for the user.
"""

from __future__ import annotations

from typing import Any

# The code lives in the modules below, split by what it is for (each says why in its docstring);
# callers keep importing from here. "X as X" re-exports names that are not in __all__.
from storage.cursors import MAX_CURSOR_CHARS as MAX_CURSOR_CHARS
from storage.cursors import decode_cursor as decode_cursor
from storage.cursors import encode_cursor as encode_cursor
from storage.query_model import MAX_HISTORY as MAX_HISTORY
from storage.query_model import MAX_LIMIT as MAX_LIMIT
from storage.query_model import MAX_OFFSET as MAX_OFFSET
from storage.query_model import (
    PILLARS,
    SEVERITIES,
    AssessmentQuery,
    ClusterNotFound,
    NoRuns,
    Page,
    QueryError,
    ResultNotFound,
    RunQuery,
)
from storage.query_model import SORTS as SORTS
from storage.query_model import TOP_FAILING as TOP_FAILING
from storage.query_model import TOP_OBJECTS as TOP_OBJECTS
from storage.query_model import _pillar_pos as _pillar_pos
from storage.query_model import _severity_pos as _severity_pos
from storage.result_listing import get_result, list_assessments, run_results
from storage.run_listing import list_run_page, run_detail
from storage.run_lookup import _get_run as _get_run
from storage.run_lookup import _history as _history
from storage.run_lookup import _require_cluster as _require_cluster
from storage.run_lookup import _resolve as _resolve
from storage.run_lookup import _row as _row
from storage.run_lookup import _scores as _scores
from storage.run_lookup import active_run_count, latest_runs, resolve_run, run_warnings
from storage.runs import RunNotFound
from storage.summary import run_summary

__all__ = [
    "PILLARS",
    "SEVERITIES",
    "AssessmentQuery",
    "ClusterNotFound",
    "NoRuns",
    "Page",
    "QueryError",
    "ResultNotFound",
    "RunNotFound",
    "RunQuery",
    "active_run_count",
    "get_result",
    "latest_runs",
    "list_assessments",
    "list_run_page",
    "resolve_run",
    "run_detail",
    "run_results",
    "run_summary",
    "run_warnings",
]


# -- history and diff (storage.history; re-exported here for callers) ---------------------------

_MOVED = frozenset({"cluster_history", "diff_runs", "pick_pair", "require_comparable", "clusters_overview"})


def __getattr__(name: str) -> Any:
    # Lazily, as before the split: only the history and diff commands pay for loading storage.history.
    if name in _MOVED:
        from storage import history

        return getattr(history, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
