"""Which kwa migrated the database, and which runs' Prefect state still needs reconciling.

* ``kwa_schema``: one row (``id = 1``) naming the kwa version that last migrated the database and
  the schema revision it left, written on every upgrade (``storage.db.record_schema``), so an
  older kwa opening it can say "migrated by kwa X (schema N); this kwa knows up to M".
* ``runs.prefect_sync``: ``pending`` while the run's Prefect flow run does not yet mirror kwa's
  terminal state (the Prefect API was unreachable when the run ended); ``kwa runs reap`` sets it
  and clears the mark.
* ``runs.slot_lease``: the Prefect lease holding the run's concurrency slots, so the reaper can
  give back at once the slots of a run whose process was killed (instead of waiting for the
  lease to expire).

Revision ID: 0004_schema_info
Revises: 0003_run_lifecycle
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_schema_info"
down_revision = "0003_run_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kwa_schema",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kwa_version", sa.String(), nullable=False),
        sa.Column("schema_revision", sa.String(), nullable=False),
        sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("prefect_sync", sa.String(), nullable=True))
        batch.add_column(sa.Column("slot_lease", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("slot_lease")
        batch.drop_column("prefect_sync")
    op.drop_table("kwa_schema")
