"""The tool calls of an answer

``generations.tool_calls``: the calls an answer made (OpenAI's ``message.tool_calls`` shape,
streamed pieces merged), relayed and stored by the OpenAI-compatible endpoint; null for answers
that made none and for rows stored before 0014.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("generations", sa.Column("tool_calls", sa.JSON(), nullable=True))


def downgrade() -> None:
    # not a batch: recreating ``generations`` would cascade to its executions and findings
    op.drop_column("generations", "tool_calls")
