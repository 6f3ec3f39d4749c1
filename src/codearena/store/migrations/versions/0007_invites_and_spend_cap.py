"""single-use invites and a study-wide spend cap

``study_invites`` keeps a single-use invite link's token as its SHA-256 only, and the
participant its one join made; ``studies.spend_cap_usd`` caps the cost of every generation of
the study together (None: no cap).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("studies", sa.Column("spend_cap_usd", sa.Float(), nullable=True))
    op.create_table(
        "study_invites",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("participant_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("study_invites") as table:
        table.create_index("ix_study_invites_study_id", ["study_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("study_invites") as table:
        table.drop_index("ix_study_invites_study_id")
    op.drop_table("study_invites")
    # not a batch: recreating ``studies`` would cascade to every participant's rows
    op.drop_column("studies", "spend_cap_usd")
