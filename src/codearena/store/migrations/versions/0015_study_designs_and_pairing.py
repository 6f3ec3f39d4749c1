"""Controlled study designs and adaptive pairing

``studies.design`` (``open``, ``crossover``, ``between``), ``design_seed`` and
``tasks_per_participant``; ``studies.pairing`` (``uniform`` or ``adaptive``); ``design_tasks`` (a
controlled study's task file, in order) and ``design_assignments`` (each participant's stored
schedule, by join slot); ``study_tasks.design_item`` (the task file's id a study task answers).
Existing studies are ``open`` with ``uniform`` pairing.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "studies",
        sa.Column("pairing", sa.String(length=16), server_default="uniform", nullable=False),
    )
    op.add_column(
        "studies", sa.Column("design", sa.String(length=16), server_default="open", nullable=False)
    )
    op.add_column("studies", sa.Column("design_seed", sa.Integer(), nullable=True))
    op.add_column("studies", sa.Column("tasks_per_participant", sa.Integer(), nullable=True))
    op.add_column("study_tasks", sa.Column("design_item", sa.String(length=200), nullable=True))
    op.create_table(
        "design_tasks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("tests", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "key"),
    )
    op.create_index("ix_design_tasks_study_id", "design_tasks", ["study_id"])
    op.create_table(
        "design_assignments",
        sa.Column("participant_id", sa.String(length=16), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("participant_id"),
        sa.UniqueConstraint("study_id", "slot"),
    )
    op.create_index("ix_design_assignments_study_id", "design_assignments", ["study_id"])


def downgrade() -> None:
    op.drop_index("ix_design_assignments_study_id", table_name="design_assignments")
    op.drop_table("design_assignments")
    op.drop_index("ix_design_tasks_study_id", table_name="design_tasks")
    op.drop_table("design_tasks")
    # not batches: recreating ``studies`` or ``study_tasks`` would cascade to their rows
    op.drop_column("study_tasks", "design_item")
    for column in ("tasks_per_participant", "design_seed", "design", "pairing"):
        op.drop_column("studies", column)
