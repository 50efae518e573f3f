"""Archived results: older runs' results kept once per distinct content, not once per run.

* ``result_contents``: the distinct results of a cluster — every column of an ``assessments`` row
  but its id, run and timestamps — keyed by a digest of those columns, so a result that stays the
  same for a year is stored once, not once per run (``last_used``: the newest archived run that
  had it, for removing contents no remaining run needs).
* ``archived_runs``: one row per archived run: which contents it had, in which order, with which
  result ids and check timestamps, as one compressed value (``storage.archive_codec``);
  ``restored_at`` is set while a query has put the run's results back into ``assessments``.

Nothing is moved by the migration itself: existing runs stay as they are until compaction
(``storage.archive``, ``kwa runs compact``) archives the older ones.

Revision ID: 0006_result_archive
Revises: 0005_result_positions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_result_archive"
down_revision = "0005_result_positions"
branch_labels = None
depends_on = None

_JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "result_contents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("pillar", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("check_name", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("object_kind", sa.String(), nullable=True),
        sa.Column("object_namespace", sa.String(), nullable=True),
        sa.Column("object_name", sa.String(), nullable=True),
        sa.Column("container", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("source_end_line", sa.Integer(), nullable=True),
        sa.Column("field_path", sa.Text(), nullable=True),
        sa.Column("field_line", sa.Integer(), nullable=True),
        sa.Column("details", _JSON, nullable=True),
    )
    op.create_index("ux_result_contents_cluster_id_digest", "result_contents", ["cluster_id", "digest"], unique=True)
    op.create_table(
        "archived_runs",
        sa.Column(
            "run_id", sa.String(), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True, nullable=False
        ),
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # Archived runs' results go back into assessments first (storage.archive.restore_all), else
    # dropping the tables would lose them.
    from storage.archive import restore_all_in

    restore_all_in(op.get_bind())
    op.drop_table("archived_runs")
    op.drop_index("ux_result_contents_cluster_id_digest", table_name="result_contents")
    op.drop_table("result_contents")
