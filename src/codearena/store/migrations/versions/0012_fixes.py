"""Fix it yourself: a participant's measured attempt at fixing an answer's code by hand

``fixes``: one row per attempt (one per participant and answer), with when it started and
ended, its active time (gaps over 60 s without input not counted), the number of runs and the
last run's verdict, how it ended (``done`` or ``abandoned``), the lines added and removed
against the generated code and the final code. Keystrokes are not stored.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fixes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("generation_id", sa.String(length=32), nullable=False),
        sa.Column("participant", sa.String(length=16), nullable=False),
        sa.Column("study_task_id", sa.String(length=32), nullable=True),
        sa.Column("block_index", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active_seconds", sa.Float(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("lines_added", sa.Integer(), nullable=True),
        sa.Column("lines_removed", sa.Integer(), nullable=True),
        sa.Column("final_code", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant"], ["participants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["study_task_id"], ["study_tasks.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("generation_id", "participant"),
    )
    with op.batch_alter_table("fixes") as table:
        table.create_index("ix_fixes_generation_id", ["generation_id"], unique=False)
        table.create_index("ix_fixes_participant", ["participant"], unique=False)
        table.create_index("ix_fixes_study_task_id", ["study_task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fixes") as table:
        table.drop_index("ix_fixes_study_task_id")
        table.drop_index("ix_fixes_participant")
        table.drop_index("ix_fixes_generation_id")
    op.drop_table("fixes")
