"""one spelling of the both-bad vote value: ``both_bad``

Blind battles were stored as ``bothbad`` (``votes.choice``) while imported votes used
``both_bad`` (``imported_votes.winner``); every stored row now says ``both_bad``. Input may
still use the old spelling (see codearena/store/vocabulary.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# spelled out here rather than imported: a migration must not change when the code does
OLD_SPELLINGS = ("bothbad", "both-bad", "both bad")


def _rewrite(table: str, column: str, old: tuple[str, ...], new: str) -> None:
    rows = sa.table(table, sa.column(column, sa.String(16)))
    op.execute(rows.update().where(sa.func.lower(rows.c[column]).in_(old)).values({column: new}))


def upgrade() -> None:
    _rewrite("votes", "choice", OLD_SPELLINGS, "both_bad")
    _rewrite("imported_votes", "winner", OLD_SPELLINGS, "both_bad")


def downgrade() -> None:
    # the platform's battles go back to the old spelling; imported votes always said both_bad
    _rewrite("votes", "choice", ("both_bad",), "bothbad")
