"""The images a run wrote

``execution_artifacts``: per execution, the PNG and SVG files the program left in its working
directory, in name order, each kept (``data_base64``, ``sha256``) or listed with the ``note``
saying why it was not (too large, over the count, not the image its name claims). Rows stored
before 0017 have none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_artifacts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("execution_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("data_base64", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_execution_artifacts_execution_id"), "execution_artifacts", ["execution_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_execution_artifacts_execution_id"), table_name="execution_artifacts")
    op.drop_table("execution_artifacts")
