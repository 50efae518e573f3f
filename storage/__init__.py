"""kwa's persistence layer: runs, results and history in SQL (SQLite by default, PostgreSQL too).

Execution (``flows``) and presentation (``cli``) depend on this package, never the reverse: it
imports neither ``checks`` nor ``flows`` nor Prefect.

* :mod:`storage.db` — :class:`Database`, URL handling, Alembic migration on first use.
* :mod:`storage.runs` — the run lifecycle with guarded transitions and the history row.
* :mod:`storage.results` — :class:`ResultWriter`, batched streaming of results.
* :mod:`storage.models` — the SQLModel tables.

The names below are resolved on first use, not at import: the pure modules of this package (the
row format, the scoring rule, the enums) are read by ``kwa lint``, which must start without
importing SQLAlchemy and SQLModel (about 0.8 s).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Database": "storage.db",
    "StorageUnavailable": "storage.db",
    "default_database_url": "storage.db",
    "STATUSES": "storage.enums",
    "TERMINAL": "storage.enums",
    "RunState": "storage.enums",
    "Scope": "storage.enums",
    "Trigger": "storage.enums",
    "is_terminal": "storage.enums",
    "ResultWriter": "storage.results",
    "RunNotWritable": "storage.results",
    "InvalidTransition": "storage.runs",
    "RunNotFound": "storage.runs",
    "abort_run": "storage.runs",
    "create_run": "storage.runs",
    "fail_run": "storage.runs",
    "finish_run": "storage.runs",
    "get_history": "storage.runs",
    "get_run": "storage.runs",
    "list_runs": "storage.runs",
    "new_run_id": "storage.runs",
    "start_run": "storage.runs",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
