"""Indexes for the presentation layer's queries (kwa query …, kwa runs …).

* ``assessments (run_id, id)``: result listing is ordered by ``(run_id, id)`` and paged by keyset
  (the cursor is the last pair), so the first page of a run is read in index order and the scan
  stops after ``limit`` matches instead of sorting the run's rows.
* ``runs (requested_at)``: the latest run across all clusters (the default of most commands) and
  ``kwa runs list`` without a cluster filter, newest first.

Revision ID: 0002_query_indexes
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002_query_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assessments_run_id_id", "assessments", ["run_id", "id"])
    op.create_index("ix_runs_requested_at", "runs", ["requested_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_requested_at", table_name="runs")
    op.drop_index("ix_assessments_run_id_id", table_name="assessments")
