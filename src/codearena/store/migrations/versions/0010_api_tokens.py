"""API tokens of the OpenAI-compatible endpoint, and the tasks made with them

``api_tokens`` keeps a web account's bearer token as its SHA-256 only, with its optional study,
budget (and what it has spent), requests per minute, expiry and revocation; ``api_calls`` links
a task made through ``/v1/chat/completions`` (source ``api``) to its token.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=True),
        sa.Column("budget_usd", sa.Float(), nullable=True),
        sa.Column("spent_usd", sa.Float(), server_default="0", nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens") as table:
        table.create_index("ix_api_tokens_user_id", ["user_id"], unique=False)
    op.create_table(
        "api_calls",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("api_calls") as table:
        table.create_index("ix_api_calls_token_id", ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_calls") as table:
        table.drop_index("ix_api_calls_token_id")
    op.drop_table("api_calls")
    with op.batch_alter_table("api_tokens") as table:
        table.drop_index("ix_api_tokens_user_id")
    op.drop_table("api_tokens")
