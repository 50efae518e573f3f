"""How many rows a listing has beyond the page shown: what ``kwa runs list``'s table says is left.

:func:`storage.queries.list_run_page` does not count (a page of runs needs no count); the table
view asks this module instead, with the same :class:`~storage.queries.RunQuery`. The filters are
restated here, so a test (tests/cli/test_streaming.py) holds both to the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, or_, select

from storage.db import Database
from storage.models import runs_table as R
from storage.models import to_utc
from storage.query_model import RunQuery
from storage.run_listing import run_filters

__all__ = ["count_runs", "runs_after"]


def runs_after(db: Database, q: RunQuery, last: Mapping[str, Any]) -> int:
    """Runs ``q`` matches that come after ``last`` (a run of the page) in the listing's order,
    newest first on ``(requested_at, run_id)``."""
    query = select(func.count()).select_from(R).where(*run_filters(q))
    at, run_id = to_utc(last["requested_at"]), last["run_id"]
    query = query.where(or_(R.c.requested_at < at, and_(R.c.requested_at == at, R.c.run_id < run_id)))
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def count_runs(db: Database, q: RunQuery) -> int:
    """Every run ``q``'s filters match (its page aside): the total an offset-paged listing reports."""
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(R).where(*run_filters(q))).scalar_one())
