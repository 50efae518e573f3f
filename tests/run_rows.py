"""What a run stored, per check: shared by the flow and deployment tests."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import assessments_table as A


def statuses_by_check(run_id: str, db: Database | None = None) -> dict[str, list[str]]:
    """``{check_id: [status, ...]}`` of the rows stored for ``run_id``."""
    with (db or Database()).read() as conn:
        rows = conn.execute(select(A.c.check_id, A.c.status).where(A.c.run_id == run_id)).all()
    out: dict[str, list[str]] = {}
    for check_id, status in rows:
        out.setdefault(check_id, []).append(status)
    return out
