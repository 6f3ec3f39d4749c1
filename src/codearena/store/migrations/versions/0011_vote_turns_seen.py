"""The number of conversation turns a blind vote was cast after

``votes.turns_seen``: how many turns (the answer, then follow-ups and repair rounds) the
participant had seen when voting; null for upvotes and for votes stored before 0011.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("turns_seen", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("turns_seen")
