"""Run lifecycle: phases with their timestamps, flow parameters, deduplication, the runner's host:pid.

Revision ID: 0003_run_lifecycle
Revises: 0002_query_indexes
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_run_lifecycle"
down_revision = "0002_query_indexes"
branch_labels = None
depends_on = None

JSONType = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)
ACTIVE = "state IN ('queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("phase", sa.String(), nullable=True))
        batch.add_column(sa.Column("waiting_at", TS, nullable=True))
        batch.add_column(sa.Column("running_at", TS, nullable=True))
        batch.add_column(sa.Column("parameters", JSONType, nullable=True))
        batch.add_column(sa.Column("dedup_key", sa.String(), nullable=True))
        batch.add_column(sa.Column("runner", sa.String(), nullable=True))
    # One queued-or-running run per identical request; finished runs leave the index.
    op.create_index(
        "ux_runs_dedup_key_active",
        "runs",
        ["dedup_key"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ux_runs_dedup_key_active", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("runner", "dedup_key", "parameters", "running_at", "waiting_at", "phase"):
            batch.drop_column(column)
