"""imported ratings: 1-5 ratings collected elsewhere (``codearena ratings import``)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_ratings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("participant", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("minutes_to_fix", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("imported_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_ratings_study_id"), ["study_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("imported_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_ratings_study_id"))
    op.drop_table("imported_ratings")
