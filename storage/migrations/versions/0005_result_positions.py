"""Where each result's object sits in its manifest: lines recorded while the run parsed it.

* ``assessments.source_line`` / ``source_end_line``: the first and last content lines (1-based) of
  the object's document, or of its item of a ``kind: List``, in the file named by ``source``;
* ``assessments.field_path``: the field the verdict is about, when the check can say
  (``spec.template.spec.containers[0].securityContext.privileged``);
* ``assessments.field_line``: that field's line (or the line of the deepest part of the path the
  object has), resolved while the run evaluated the check.

All nullable: live objects have no file, and rows stored before this revision keep NULL (their
SARIF results carry the file without a region). ``ALTER TABLE … ADD COLUMN`` of a nullable column
with no default rewrites nothing, on SQLite and on PostgreSQL, however many results are stored.

Revision ID: 0005_result_positions
Revises: 0004_schema_info
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_result_positions"
down_revision = "0004_schema_info"
branch_labels = None
depends_on = None

COLUMNS = (
    ("source_line", sa.Integer),
    ("source_end_line", sa.Integer),
    ("field_path", sa.Text),
    ("field_line", sa.Integer),
)


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch operation: a batch would copy the whole assessments table on
    # SQLite (millions of rows) where adding a nullable column is a change to the schema only.
    for name, type_ in COLUMNS:
        op.add_column("assessments", sa.Column(name, type_(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
