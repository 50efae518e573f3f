"""Initial schema: runs, assessments, assessment_history.

Revision ID: 0001
Revises:
Create Date: 2026-02-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types (a migration never imports the live models).
JSONType = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(), primary_key=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("pillars", JSONType, nullable=False),
        sa.Column("check_ids", JSONType, nullable=False),
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("prefect_flow_run_id", sa.String(), nullable=True),
        sa.Column("config_hash", sa.String(), nullable=True),
        sa.Column("rerun_of", sa.String(), sa.ForeignKey("runs.run_id", ondelete="SET NULL"), nullable=True),
        sa.Column("resume_of", sa.String(), sa.ForeignKey("runs.run_id", ondelete="SET NULL"), nullable=True),
        sa.Column("summary", JSONType, nullable=True),
    )
    op.create_index("ix_runs_cluster_id_requested_at", "runs", ["cluster_id", "requested_at"])
    op.create_index("ix_runs_state", "runs", ["state"])

    op.create_table(
        "assessments",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
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
        sa.Column("details", JSONType, nullable=True),
        sa.Column("assessed_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
    )
    op.create_index("ix_assessments_run_id_status", "assessments", ["run_id", "status"])
    op.create_index("ix_assessments_run_id_check_id", "assessments", ["run_id", "check_id"])
    op.create_index("ix_assessments_run_id_pillar", "assessments", ["run_id", "pillar"])

    op.create_table(
        "assessment_history",
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("cluster_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("passing_count", sa.Integer(), nullable=False),
        sa.Column("failing_count", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("timeout_count", sa.Integer(), nullable=False),
        sa.Column("pillar_counts", JSONType, nullable=False),
        sa.Column("checks_total", sa.Integer(), nullable=False),
        sa.Column("checks_executed", sa.Integer(), nullable=False),
        sa.Column("checks_errored", sa.Integer(), nullable=False),
        sa.Column("checks_timed_out", sa.Integer(), nullable=False),
        sa.Column("scores", JSONType, nullable=True),
    )
    op.create_index(
        "ix_assessment_history_cluster_id_finished_at", "assessment_history", ["cluster_id", "finished_at"]
    )


def downgrade() -> None:
    op.drop_table("assessment_history")
    op.drop_table("assessments")
    op.drop_table("runs")
