"""Where on its line each result's object and field start: the columns beside migration 0005's lines.

* ``source_column``: the 1-based column of the object's first character on ``source_line`` (its
  first key; the ``-`` or ``{`` of an item of a ``kind: List``);
* ``field_column``: the 1-based column of the key ``field_path`` ends at on ``field_line`` (the
  entry's ``-`` for an index; the deepest part of the path the object has, or the object's own
  column, when the resolver falls back to it).

Added to ``assessments`` and to ``result_contents`` (an archived result keeps every column of its
row). Nullable with no default, so ``ADD COLUMN`` rewrites no row on SQLite or PostgreSQL; rows
stored before keep NULL (their line without a column).

Revision ID: 0007_result_columns
Revises: 0006_result_archive
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_result_columns"
down_revision = "0006_result_archive"
branch_labels = None
depends_on = None

COLUMNS = ("source_column", "field_column")
TABLES = ("assessments", "result_contents")


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch operation (which would copy the table on SQLite).
    for table in TABLES:
        for name in COLUMNS:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    # Archived runs go back into assessments while result_contents still has every column this
    # kwa writes back; migration 0006's downgrade then finds none left to restore.
    from storage.archive import restore_all_in

    restore_all_in(op.get_bind())
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in reversed(COLUMNS):
                batch.drop_column(name)
