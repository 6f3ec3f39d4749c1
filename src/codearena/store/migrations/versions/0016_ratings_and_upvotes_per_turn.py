"""Ratings and upvotes on every turn of a conversation

``ratings.turn`` and ``votes.turn`` (not null, default 1): a rating or a named-mode upvote is of
the answer at a position *and a turn* (1 = the first answer; 2, ... a follow-up or repair
round), so the unique keys become ``ratings (study_task_id, position, turn)`` and ``votes
(study_task_id, kind, position, turn)``. Existing rows are turn 1, their old meaning; a battle
vote is always turn 1 (once per task; ``turns_seen`` says how far the conversation had gone).

On SQLite a unique constraint can only change by recreating the table (a batch). Recreating
``votes`` drops it, and ``judge_verdicts`` references it with ON DELETE CASCADE: the rows of
every table that references a recreated table are kept aside and put back afterwards, so
nothing is lost. Downgrading deletes the ratings and upvotes of turns after the first (the old
keys cannot hold them).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# SQLite reflects the old unnamed unique constraints under these names inside a batch
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
NEW_KEYS = {"ratings": "uq_ratings_answer_turn", "votes": "uq_votes_answer_turn"}
OLD_KEYS = {
    "ratings": ("study_task_id", "position"),
    "votes": ("study_task_id", "kind", "position"),
}


def _unique_name(table: str, columns: Sequence[str]) -> str | None:
    """The stored name of ``table``'s unique constraint on exactly ``columns``."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if list(constraint["column_names"]) == list(columns):
            return constraint["name"]
    raise RuntimeError(f"{table} has no unique constraint on {', '.join(columns)}")


@contextmanager
def _children_kept(table: str) -> Iterator[None]:
    """SQLite: the rows of the tables that reference ``table`` survive its recreation (a batch
    drops the old table, which would cascade to them)."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    children = [
        name
        for name in inspector.get_table_names()
        if name != table
        and any(fk["referred_table"] == table for fk in inspector.get_foreign_keys(name))
    ]
    columns = {
        name: ", ".join(f'"{c["name"]}"' for c in inspector.get_columns(name)) for name in children
    }
    for name in children:
        op.execute(f'CREATE TEMPORARY TABLE "_kept_{name}" AS SELECT {columns[name]} FROM "{name}"')
    yield
    for name in children:
        op.execute(f'DELETE FROM "{name}"')
        op.execute(
            f'INSERT INTO "{name}" ({columns[name]}) SELECT {columns[name]} FROM "_kept_{name}"'
        )
        op.execute(f'DROP TABLE "_kept_{name}"')


def _rekey(table: str, old: Sequence[str], new: Sequence[str], add: bool) -> None:
    """Swap ``table``'s unique key ``old`` for ``new``, adding (or dropping) ``turn``; the new
    keys are named (``NEW_KEYS``), the old ones keep the database's own name (none on SQLite)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    # downgrading: the old key as 0003 left it (PostgreSQL's own name; SQLite's needs one in a
    # batch, the naming convention's)
    restored = NAMING["uq"] % {"table_name": table, "column_0_N_name": "_".join(new)}
    new_name = NEW_KEYS[table] if add else restored if sqlite else f"{table}_{'_'.join(new)}_key"
    if sqlite:
        name = _unique_name(table, old) or NAMING["uq"] % {
            "table_name": table,
            "column_0_N_name": "_".join(old),
        }
        with (
            _children_kept(table),
            op.batch_alter_table(table, naming_convention=NAMING, recreate="always") as batch,
        ):
            if add:
                batch.add_column(
                    sa.Column("turn", sa.Integer(), nullable=False, server_default="1")
                )
            batch.drop_constraint(name, type_="unique")
            batch.create_unique_constraint(new_name, list(new))
            if not add:
                batch.drop_column("turn")
        return
    stored = _unique_name(table, old)
    assert stored is not None  # PostgreSQL names every constraint
    op.drop_constraint(stored, table, type_="unique")
    if add:
        op.add_column(table, sa.Column("turn", sa.Integer(), nullable=False, server_default="1"))
    op.create_unique_constraint(new_name, table, list(new))
    if not add:
        op.drop_column(table, "turn")


def upgrade() -> None:
    for table, old in OLD_KEYS.items():
        _rekey(table, old, (*old, "turn"), add=True)


def downgrade() -> None:
    op.execute("DELETE FROM ratings WHERE turn > 1")
    op.execute("DELETE FROM votes WHERE turn > 1")
    for table, old in OLD_KEYS.items():
        _rekey(table, (*old, "turn"), old, add=False)
