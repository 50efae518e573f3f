"""Each run's results counted per check, kept with its history row.

``assessment_history.check_counts``: one ``[check_id, check_name, pillar, severity, {status:
count}]`` per check of the run (statuses without results left out), written when the run ends
from the counts its writer (or one ``GROUP BY``) already made for the history's totals. A run's
summary reads them instead of grouping every result of the run again: at 732,000 results (a
100,000-object cluster) that ``GROUP BY`` and the check names' took 1.2 of the summary's 1.4 s.
Nullable with no default, so ``ADD COLUMN`` rewrites no row; runs that ended before keep NULL and
their summary counts their rows as before.

Revision ID: 0009_history_check_counts
Revises: 0008_api_tokens
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_history_check_counts"
down_revision = "0008_api_tokens"
branch_labels = None
depends_on = None

JSONType = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.add_column("assessment_history", sa.Column("check_counts", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessment_history") as batch:
        batch.drop_column("check_counts")
