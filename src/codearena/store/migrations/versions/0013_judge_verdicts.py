"""LLM judges' verdicts on a study's battles (``codearena judge``)

``judge_verdicts``: one row per (vote, judge model, order of the sides, with or without the
execution results), the verdict in the vote's own A/B, and the generation of the call.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_verdicts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("vote_id", sa.String(length=32), nullable=False),
        sa.Column("judge", sa.String(length=200), nullable=False),
        sa.Column("side_order", sa.String(length=2), nullable=False),
        sa.Column("with_execution", sa.Boolean(), nullable=False),
        sa.Column("generation_id", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vote_id", "judge", "side_order", "with_execution"),
    )
    op.create_index("ix_judge_verdicts_study_id", "judge_verdicts", ["study_id"])
    op.create_index("ix_judge_verdicts_vote_id", "judge_verdicts", ["vote_id"])


def downgrade() -> None:
    op.drop_index("ix_judge_verdicts_vote_id", table_name="judge_verdicts")
    op.drop_index("ix_judge_verdicts_study_id", table_name="judge_verdicts")
    op.drop_table("judge_verdicts")
