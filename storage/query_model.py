"""What a query asks and what it answers: filter vocabulary, limits, errors, query objects, a page.

Split from storage.queries (which re-exports every name) so the pieces that read the database
share one definition of a valid query without importing each other. Validation happens when a
query object is built, so every reader can trust its fields; the errors carry messages meant for
the user (the CLI prints them as they are).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from storage.enums import SEVERITIES, STATUSES, RunState, Trigger

PILLARS: tuple[str, ...] = (
    "security",
    "reliability",
    "performance",
    "cost",
    "operational-excellence",
    "sustainability",
)
# Most severe first; gates compare positions in this tuple.
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000_000  # deeper than that is a job for the cursor (and would overflow some drivers)
MAX_HISTORY = 100_000
TOP_FAILING = 10
TOP_OBJECTS = 3  # failing objects shown with each of the top failing checks
SORTS = ("severity", "id")


class QueryError(ValueError):
    """Input the query cannot use (malformed cursor, unknown status, bad limit)."""


class ResultNotFound(LookupError):
    def __init__(self, result_id: str) -> None:
        super().__init__(f"result {result_id} does not exist")
        self.result_id = result_id


class ClusterNotFound(LookupError):
    def __init__(self, cluster_id: str, known: Sequence[str] = ()) -> None:
        hint = f" (known clusters: {', '.join(known)})" if known else ""
        super().__init__(f"no runs recorded for cluster {cluster_id!r}{hint}")
        self.cluster_id = cluster_id


class NoRuns(LookupError):
    def __init__(self) -> None:
        super().__init__("no runs yet")


# -- query objects ------------------------------------------------------------------------------


def _tuple(values: str | Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(str(v) for v in values))  # de-duplicated, order kept


def _check_values(values: tuple[str, ...], allowed: Sequence[str], what: str) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise QueryError(f"unknown {what} {', '.join(map(repr, bad))} (expected: {', '.join(allowed)})")


@dataclass(frozen=True)
class AssessmentQuery:
    """The AssessmentQuery contract plus kwa's extra filters and a cursor.

    Scope: ``run_id`` → that run; else ``since`` → every run of ``cluster_id`` (or of all clusters)
    with results assessed at or after ``since``; else the latest run of ``cluster_id`` (or the
    latest run of all).
    """

    run_id: str | None = None
    pillar: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int = 50
    offset: int = 0
    check_id: tuple[str, ...] = ()
    namespace: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    cluster_id: str | None = None
    cursor: str | None = None
    sort: str = "severity"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError(f"unknown sort {self.sort!r} (expected: {', '.join(SORTS)})")
        for name in ("pillar", "status", "check_id", "namespace", "kind", "severity"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        _check_values(self.status, STATUSES, "status")
        _check_values(self.severity, SEVERITIES, "severity")
        _check_values(self.pillar, PILLARS, "pillar")
        if not isinstance(self.limit, int) or not 0 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT:,} (0: no limit), not {self.limit!r}")
        if not isinstance(self.offset, int) or not 0 <= self.offset <= MAX_OFFSET:
            raise QueryError(
                f"offset must be between 0 and {MAX_OFFSET:,} (deeper: use the cursor), not {self.offset!r}"
            )
        if self.cursor and self.offset:
            raise QueryError("use either a cursor or an offset, not both")

    def with_cursor(self, cursor: str | None) -> AssessmentQuery:
        return replace(self, cursor=cursor, offset=0)

    def fingerprint(self) -> str:
        """Identifies the filters (not the page): a cursor is only valid for the same filters."""
        key = [
            self.run_id,
            self.pillar,
            self.status,
            self.since.isoformat() if self.since else None,
            self.check_id,
            self.namespace,
            self.kind,
            self.severity,
            self.cluster_id,
            self.sort,
        ]
        return hashlib.sha256(json.dumps(key, default=list).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunQuery:
    state: tuple[str, ...] = ()
    cluster_id: str | None = None
    trigger: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int = 20
    cursor: str | None = None
    offset: int = 0  # the HTTP API's GET /api/v1/runs pages by offset; the CLI by cursor

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _tuple(self.state))
        object.__setattr__(self, "trigger", _tuple(self.trigger))
        _check_values(self.state, [s.value for s in RunState], "state")
        _check_values(self.trigger, [t.value for t in Trigger], "trigger")
        if not isinstance(self.limit, int) or not 0 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT:,} (0: no limit), not {self.limit!r}")
        if not isinstance(self.offset, int) or not 0 <= self.offset <= MAX_OFFSET:
            raise QueryError(
                f"offset must be between 0 and {MAX_OFFSET:,} (deeper: use the cursor), not {self.offset!r}"
            )
        if self.cursor and self.offset:
            raise QueryError("use either a cursor or an offset, not both")

    def fingerprint(self) -> str:
        key = [self.state, self.cluster_id, self.trigger, self.since.isoformat() if self.since else None]
        return hashlib.sha256(json.dumps(key, default=list).encode()).hexdigest()[:12]


@dataclass
class Page:
    """One page of rows; ``next_cursor`` is None on the last page, ``total`` None when not counted."""

    items: list[dict[str, Any]]
    limit: int
    offset: int = 0
    next_cursor: str | None = None
    total: int | None = None
    run: dict[str, Any] | None = None  # the run a result listing was scoped to
    scope: dict[str, Any] = field(default_factory=dict)


def _pillar_pos(pillar: str) -> tuple[int, str]:
    return (PILLARS.index(pillar) if pillar in PILLARS else len(PILLARS), pillar)


def _severity_pos(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
