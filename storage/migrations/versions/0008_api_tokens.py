"""Bearer tokens of the HTTP API (``kwa serve``, ``kwa tokens``).

``api_tokens`` keeps, per token, its public id, a name, its scope (``read``, ``run`` or
``admin``), the SHA-256 of its secret part (the secret itself is never stored: it is shown once,
when created), when it was created, last used and revoked. A revoked token keeps its row, so
``kwa tokens list`` still says who had access and until when.

Revision ID: 0008_api_tokens
Revises: 0007_result_columns
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_api_tokens"
down_revision = "0007_result_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
