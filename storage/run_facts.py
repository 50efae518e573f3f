"""Per cluster, what a monitoring system needs to know about its runs, in three small queries.

The latest run (any state: a queued or running one too), how many runs of each state are retained,
and per terminal state the latest finished run (from the history rows). From these the caller
picks the run whose scores it shows (the latest completed or partial one: the runs whose results
are whole, as a diff compares them) and reads that run through :func:`storage.summary.run_summary`,
so a metric and ``kwa query assessments summary`` never disagree.

Each query is one GROUP BY or one window over an indexed column: the cost grows with the number
of clusters and retained runs, never with the number of results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.diff import COMPARABLE_STATES
from storage.enums import RunState
from storage.models import history_table as H
from storage.models import runs_table as R

__all__ = ["ClusterFacts", "Finished", "cluster_facts"]


@dataclass(frozen=True)
class Finished:
    """One finished run as its history row recorded it."""

    run_id: str
    state: str
    finished_at: datetime
    duration_ms: int | None


@dataclass
class ClusterFacts:
    cluster_id: str
    latest_run_id: str
    latest_state: str  # the newest run by request time, whatever its state
    latest_requested_at: datetime
    runs_by_state: dict[str, int] = field(default_factory=dict)  # every RunState, zero when none
    finished_by_state: dict[str, Finished] = field(default_factory=dict)  # the newest finished run per state

    @property
    def last_finished(self) -> Finished | None:
        """The newest finished run, whatever its state."""
        return _newest(self.finished_by_state.values())

    @property
    def last_success(self) -> Finished | None:
        """The newest completed run (a partial one is not a success: some checks did not run)."""
        return self.finished_by_state.get(RunState.COMPLETED.value)

    @property
    def scored(self) -> Finished | None:
        """The newest completed or partial run: the one whose scores and findings are shown."""
        return _newest(f for s, f in self.finished_by_state.items() if s in COMPARABLE_STATES)


def _newest(runs: Any) -> Finished | None:
    return max(runs, key=lambda f: (f.finished_at, f.run_id), default=None)


def cluster_facts(db: Database, cluster_id: str | None = None) -> list[ClusterFacts]:
    """Every cluster with runs (or only ``cluster_id``), sorted by cluster id; empty when none."""
    latest_q = select(
        R.c.cluster_id,
        R.c.run_id,
        R.c.state,
        R.c.requested_at,
        func.row_number()
        .over(partition_by=R.c.cluster_id, order_by=(R.c.requested_at.desc(), R.c.run_id.desc()))
        .label("n"),
    )
    counts_q = select(R.c.cluster_id, R.c.state, func.count()).group_by(R.c.cluster_id, R.c.state)
    finished_q = select(
        H.c.cluster_id,
        H.c.run_id,
        H.c.state,
        H.c.finished_at,
        H.c.duration_ms,
        func.row_number()
        .over(partition_by=(H.c.cluster_id, H.c.state), order_by=(H.c.finished_at.desc(), H.c.run_id.desc()))
        .label("n"),
    )
    if cluster_id is not None:
        latest_q = latest_q.where(R.c.cluster_id == cluster_id)
        counts_q = counts_q.where(R.c.cluster_id == cluster_id)
        finished_q = finished_q.where(H.c.cluster_id == cluster_id)
    latest_sub, finished_sub = latest_q.subquery(), finished_q.subquery()
    with db.read() as conn:
        latest = conn.execute(select(latest_sub).where(latest_sub.c.n == 1)).all()
        counts = conn.execute(counts_q).all()
        finished = conn.execute(select(finished_sub).where(finished_sub.c.n == 1)).all()
    out = {
        r.cluster_id: ClusterFacts(
            r.cluster_id, r.run_id, r.state, r.requested_at, dict.fromkeys((s.value for s in RunState), 0)
        )
        for r in latest
    }
    for cid, state, n in counts:
        if cid in out:
            out[cid].runs_by_state[state] = int(n)
    for r in finished:
        if r.cluster_id in out:
            out[r.cluster_id].finished_by_state[r.state] = Finished(r.run_id, r.state, r.finished_at, r.duration_ms)
    return [out[c] for c in sorted(out)]
