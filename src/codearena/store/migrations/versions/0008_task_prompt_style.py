"""a task's prompt style gets its own name: ``tasks.mode`` becomes ``tasks.prompt_style``

``study`` (the study's prompt around the task) or ``plain`` (the task as written). A study's
``named`` / ``blind`` stays ``mode``; the two no longer share a name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as table:
        table.alter_column("mode", new_column_name="prompt_style")


def downgrade() -> None:
    with op.batch_alter_table("tasks") as table:
        table.alter_column("prompt_style", new_column_name="mode")
