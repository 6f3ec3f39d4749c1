"""conversations and repair rounds: a generation's turn, parent, kind and prompt; a bench
item's round

A follow-up or a repair round is a new generation of the same model at the same position of a
task: ``turn`` counts from 1, ``parent_id`` is the previous turn, ``kind`` is ``answer``,
``follow_up`` or ``repair`` and ``prompt`` the user message that asked for it. Existing rows are
first answers (turn 1, kind ``answer``). A bench item records the round its generation is at
and the first round that passed; an execution keeps its per-test details (what a repair round
sends back after a resume).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as table:
        table.add_column(sa.Column("turn", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("parent_id", sa.String(32), nullable=True))
        table.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="answer"))
        table.add_column(sa.Column("prompt", sa.Text(), nullable=True))
        table.create_foreign_key(
            "fk_generations_parent_id", "generations", ["parent_id"], ["id"], ondelete="SET NULL"
        )
        table.create_index("ix_generations_parent_id", ["parent_id"])
    with op.batch_alter_table("executions") as table:
        table.add_column(sa.Column("details", sa.JSON(), nullable=True))
    with op.batch_alter_table("bench_items") as table:
        table.add_column(sa.Column("round", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("passed_at_round", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bench_items") as table:
        table.drop_column("passed_at_round")
        table.drop_column("round")
    with op.batch_alter_table("executions") as table:
        table.drop_column("details")
    with op.batch_alter_table("generations") as table:
        table.drop_index("ix_generations_parent_id")
        table.drop_constraint("fk_generations_parent_id", type_="foreignkey")
        table.drop_column("prompt")
        table.drop_column("kind")
        table.drop_column("parent_id")
        table.drop_column("turn")
