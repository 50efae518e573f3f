"""kwa's persistence layer: runs, results and history in SQL (SQLite by default, PostgreSQL too).

Execution (``flows``) and presentation (``cli``) depend on this package, never the reverse: it
imports neither ``checks`` nor ``flows`` nor Prefect.

* :mod:`storage.db` — :class:`Database`, URL handling, Alembic migration on first use.
* :mod:`storage.runs` — the run lifecycle with guarded transitions and the history row.
* :mod:`storage.results` — :class:`ResultWriter`, batched streaming of results.
* :mod:`storage.models` — the SQLModel tables.
"""

from storage.db import Database, StorageUnavailable, default_database_url
from storage.enums import STATUSES, TERMINAL, RunState, Scope, Trigger, is_terminal
from storage.results import ResultWriter, RunNotWritable
from storage.runs import (
    InvalidTransition,
    RunNotFound,
    abort_run,
    create_run,
    fail_run,
    finish_run,
    get_history,
    get_run,
    list_runs,
    new_run_id,
    start_run,
)

__all__ = [
    "STATUSES",
    "TERMINAL",
    "Database",
    "InvalidTransition",
    "ResultWriter",
    "RunNotFound",
    "RunNotWritable",
    "RunState",
    "Scope",
    "StorageUnavailable",
    "Trigger",
    "abort_run",
    "create_run",
    "default_database_url",
    "fail_run",
    "finish_run",
    "get_history",
    "get_run",
    "is_terminal",
    "list_runs",
    "new_run_id",
    "start_run",
]
