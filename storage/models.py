"""kwa's tables (runs, results, history, the archive, API tokens and the schema-info row), as SQLModel classes.

The schema itself is created by Alembic (``migrations/versions``); these classes describe the same
tables for queries and for the model-vs-migration test. Timestamps are stored in UTC and always
come back timezone-aware (:class:`UTCDateTime`). JSON columns are ``JSONB`` on PostgreSQL and
``JSON`` (text) elsewhere; Python ``None`` is stored as SQL ``NULL``.

Indexes: ``runs (cluster_id, requested_at)`` and ``runs (state)``; ``assessments (run_id, status)``,
``(run_id, check_id)`` and ``(run_id, pillar)`` — the three composite indexes lead with ``run_id``,
so they also serve every lookup by ``run_id`` alone (no separate single-column index, which would
only slow down bulk inserts); ``assessment_history (cluster_id, finished_at)`` for trends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator):
    """``TIMESTAMP WITH TIME ZONE``; naive values are taken as UTC, results are aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_cluster_id_requested_at", "cluster_id", "requested_at"),
        Index("ix_runs_state", "state"),
        Index("ix_runs_requested_at", "requested_at"),  # migration 0002_query_indexes
        Index(
            "ux_runs_dedup_key_active",
            "dedup_key",
            unique=True,
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
    )

    run_id: str = Field(sa_column=Column(String, primary_key=True))
    state: str = Field(sa_column=Column(String, nullable=False))
    scope: str = Field(sa_column=Column(String, nullable=False))
    pillars: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    check_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    cluster_id: str = Field(sa_column=Column(String, nullable=False))
    source: str = Field(default="", sa_column=Column(Text, nullable=False))
    trigger: str = Field(sa_column=Column(String, nullable=False))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prefect_flow_run_id: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    config_hash: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    rerun_of: str | None = Field(
        default=None, sa_column=Column(String, ForeignKey("runs.run_id", ondelete="SET NULL"), nullable=True)
    )
    resume_of: str | None = Field(
        default=None, sa_column=Column(String, ForeignKey("runs.run_id", ondelete="SET NULL"), nullable=True)
    )
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # Lifecycle (migration 0003): the current phase and when the run entered the later ones,
    # the flow parameters a rerun repeats, and the key that deduplicates identical active runs.
    phase: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    waiting_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    running_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    parameters: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    dedup_key: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    runner: str | None = Field(default=None, sa_column=Column(String, nullable=True))  # host:pid executing it
    # Migration 0004: "pending" while the run's Prefect flow run does not mirror its terminal state yet.
    prefect_sync: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    slot_lease: str | None = Field(default=None, sa_column=Column(String, nullable=True))  # Prefect lease id


class Assessment(SQLModel, table=True):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_run_id_status", "run_id", "status"),
        Index("ix_assessments_run_id_check_id", "run_id", "check_id"),
        Index("ix_assessments_run_id_pillar", "run_id", "pillar"),
        Index("ix_assessments_run_id_id", "run_id", "id"),  # migration 0002_query_indexes: keyset paging
    )

    id: str = Field(sa_column=Column(String, primary_key=True))
    run_id: str = Field(sa_column=Column(String, ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False))
    pillar: str = Field(sa_column=Column(String, nullable=False))
    check_id: str = Field(sa_column=Column(String, nullable=False))
    check_name: str = Field(sa_column=Column(Text, nullable=False))
    severity: str = Field(sa_column=Column(String, nullable=False))
    status: str = Field(sa_column=Column(String, nullable=False))
    object_kind: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    object_namespace: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    object_name: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    container: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    remediation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Migration 0005: where the object (and the field the verdict is about) sits in its manifest,
    # recorded while the run parsed it; NULL for live objects and for rows stored before 0005.
    # Migration 0007: source_column and field_column, the 1-based columns of the object's first
    # character and of the field's key (in storage.result_rows.COLUMNS order, as queries print them).
    source_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source_column: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source_end_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    field_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    field_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    field_column: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    details: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    assessed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class AssessmentHistory(SQLModel, table=True):
    __tablename__ = "assessment_history"
    __table_args__ = (Index("ix_assessment_history_cluster_id_finished_at", "cluster_id", "finished_at"),)

    run_id: str = Field(sa_column=Column(String, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True))
    cluster_id: str = Field(sa_column=Column(String, nullable=False))
    state: str = Field(sa_column=Column(String, nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    duration_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    total: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    passing_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failing_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    warning_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    skipped_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    error_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    timeout_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    pillar_counts: dict[str, dict[str, int]] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    checks_total: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    checks_executed: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    checks_errored: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    checks_timed_out: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    scores: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # Migration 0009: [check_id, check_name, pillar, severity, {status: count}] per check, what a
    # summary reads instead of grouping the run's results (storage.summary); NULL before 0009.
    check_counts: list[Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class SchemaInfo(SQLModel, table=True):
    """One row (``id = 1``): the kwa version that last migrated the database, and to which revision."""

    __tablename__ = "kwa_schema"

    id: int = Field(sa_column=Column(Integer, primary_key=True))
    kwa_version: str = Field(sa_column=Column(String, nullable=False))
    schema_revision: str = Field(sa_column=Column(String, nullable=False))
    migrated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ResultContent(SQLModel, table=True):
    """One distinct result of a cluster (everything of an ``assessments`` row but its id, run and
    timestamps), shared by every archived run that had it (migration 0006, storage.archive)."""

    __tablename__ = "result_contents"
    __table_args__ = (Index("ux_result_contents_cluster_id_digest", "cluster_id", "digest", unique=True),)

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=True))
    cluster_id: str = Field(sa_column=Column(String, nullable=False))
    digest: str = Field(sa_column=Column(String, nullable=False))
    pillar: str = Field(sa_column=Column(String, nullable=False))
    check_id: str = Field(sa_column=Column(String, nullable=False))
    check_name: str = Field(sa_column=Column(Text, nullable=False))
    severity: str = Field(sa_column=Column(String, nullable=False))
    status: str = Field(sa_column=Column(String, nullable=False))
    object_kind: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    object_namespace: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    object_name: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    container: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    remediation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source_column: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # migration 0007
    source_end_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    field_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    field_line: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    field_column: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # migration 0007
    details: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))


class ArchivedRun(SQLModel, table=True):
    """A run whose results are archived: which contents, in which order, with which ids and times
    (``data``, storage.archive_codec). ``restored_at`` is set while the results are also back in
    ``assessments`` (a query needed them); NULL means they are only here."""

    __tablename__ = "archived_runs"

    run_id: str = Field(sa_column=Column(String, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True))
    cluster_id: str = Field(sa_column=Column(String, nullable=False))
    results: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    archived_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    restored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ApiToken(SQLModel, table=True):
    """A bearer token of the HTTP API (migration 0008, storage.tokens): only its secret's hash."""

    __tablename__ = "api_tokens"

    token_id: str = Field(sa_column=Column(String, primary_key=True))
    name: str = Field(sa_column=Column(String, nullable=False))
    scope: str = Field(sa_column=Column(String, nullable=False))
    secret_hash: str = Field(sa_column=Column(String, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


runs_table = Run.__table__
assessments_table = Assessment.__table__
history_table = AssessmentHistory.__table__
# A history row as listings and histories show it: every column but check_counts, which only
# storage.summary reads (some KB of JSON a run, which a history of thousands of runs would decode).
history_shown = tuple(c for c in history_table.c if c.name != "check_counts")
schema_table = SchemaInfo.__table__
contents_table = ResultContent.__table__
archived_table = ArchivedRun.__table__
tokens_table = ApiToken.__table__
TABLES = (runs_table, assessments_table, history_table, contents_table, archived_table, tokens_table)
