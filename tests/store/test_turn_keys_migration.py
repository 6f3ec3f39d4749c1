"""Migration 0016: ratings and upvotes keyed by their turn, on SQLite and PostgreSQL; the rows of
tables that reference a recreated table (a judge's verdict on a vote) survive both ways."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from codearena.store import Store
from codearena.store.db import alembic_config, current_revision, head_revision
from codearena.store.models import Generation, Task
from codearena.store.platform_models import Participant, Rating, Study, StudyTask, Vote
from codearena.store.research_models import JudgeVerdict


def _world(store: Store) -> None:
    with store.session() as session:
        session.add(Study(id="s1", name="old", mode="named", survey_name="study-2025"))
        session.flush()
        session.add(Participant(id="P-OLD", study_id="s1", pseudonym="ann"))
        session.add(Task(id="t1", prompt="p"))
        session.flush()
        for turn in (1, 2):
            session.add(
                Generation(id=f"g{turn}", task_id="t1", model="x/one", provider="fake", turn=turn)
            )
        session.add(
            StudyTask(
                id="st1",
                task_id="t1",
                study_id="s1",
                participant_id="P-OLD",
                mode="named",
                models=["x/one", "x/two"],
                prompt="p",
            )
        )
        session.flush()
        for turn in (1, 2):
            session.add(
                Rating(
                    id=f"r{turn}",
                    study_task_id="st1",
                    position=0,
                    turn=turn,
                    generation_id=f"g{turn}",
                    participant_id="P-OLD",
                    model="x/one",
                    correctness=turn + 2,
                )
            )
            session.add(
                Vote(
                    id=f"u{turn}",
                    study_task_id="st1",
                    study_id="s1",
                    participant_id="P-OLD",
                    kind="upvote",
                    position=0,
                    turn=turn,
                    model="x/one",
                )
            )
        session.add(
            Vote(
                id="b1",
                study_task_id="st1",
                study_id="s1",
                participant_id="P-OLD",
                kind="battle",
                choice="a",
                model_a="x/one",
                model_b="x/two",
            )
        )
        session.flush()
        session.add(
            JudgeVerdict(
                id="j1",
                study_id="s1",
                vote_id="b1",
                judge="x/judge",
                side_order="ab",
                with_execution=False,
                generation_id="g1",
                verdict="a",
            )
        )


def test_turn_keys_up_and_down_keep_every_row(database_url: str) -> None:
    from alembic import command

    store = Store(database_url)
    _world(store)
    # the new key: one rating per answer and turn
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(
            Rating(study_task_id="st1", position=0, turn=2, participant_id="P-OLD", model="x/one")
        )
    config = alembic_config(store.engine)
    command.downgrade(config, "0015")
    with store.engine.connect() as connection:
        ratings = connection.exec_driver_sql("SELECT id FROM ratings").scalars().all()
        votes = connection.exec_driver_sql("SELECT id FROM votes ORDER BY id").scalars().all()
        verdicts = connection.exec_driver_sql("SELECT vote_id FROM judge_verdicts").all()
    # the old keys hold one rating and one upvote per answer: turn 2's are gone, nothing else
    assert ratings == ["r1"] and votes == ["b1", "u1"]
    assert [tuple(v) for v in verdicts] == [("b1",)]
    command.upgrade(config, "head")
    assert current_revision(store.engine) == head_revision()
    with store.session() as session:
        kept = session.scalars(select(Rating)).all()
        assert [(r.id, r.turn, r.correctness) for r in kept] == [("r1", 1, 3)]
        assert {(v.id, v.turn) for v in session.scalars(select(Vote))} == {("b1", 1), ("u1", 1)}
        assert session.scalars(select(JudgeVerdict.vote_id)).all() == ["b1"]
        # turn 2 can be rated and upvoted again
        session.add(
            Rating(study_task_id="st1", position=0, turn=2, participant_id="P-OLD", model="x/one")
        )
        session.add(
            Vote(
                study_task_id="st1",
                study_id="s1",
                participant_id="P-OLD",
                kind="upvote",
                position=0,
                turn=2,
            )
        )
    with store.session() as session:
        assert session.query(Rating).count() == 2 and session.query(Vote).count() == 3
    store.dispose()


OLD_ROWS = (
    "INSERT INTO studies (id, name, description, consent_text, models, mode, prompt_options, "
    "survey_name, survey, status, created_at) VALUES ('s1', 'old', '', '', '[]', 'named', '[]', "
    "'study-2025', '{}', 'open', CURRENT_TIMESTAMP)",
    "INSERT INTO participants (id, study_id, pseudonym, source, created_at) "
    "VALUES ('P-OLD', 's1', 'ann', 'platform', CURRENT_TIMESTAMP)",
    "INSERT INTO tasks (id, created_at, prompt, prompt_style, messages, source) "
    "VALUES ('t1', CURRENT_TIMESTAMP, 'p', 'study', '[]', 'web')",
    "INSERT INTO generations (id, task_id, position, model, provider, status, text, code, "
    "tokens_estimated, attempts, created_at) VALUES ('g1', 't1', 0, 'x/one', 'fake', 'ok', '', "
    "'[]', FALSE, 1, CURRENT_TIMESTAMP)",
    "INSERT INTO study_tasks (id, task_id, study_id, participant_id, mode, models, prompt, "
    "status, revealed, created_at) VALUES ('st1', 't1', 's1', 'P-OLD', 'named', "
    "'[\"x/one\", \"x/two\"]', 'p', 'done', TRUE, CURRENT_TIMESTAMP)",
    "INSERT INTO ratings (id, study_task_id, position, generation_id, participant_id, model, "
    "correctness, updated_at) VALUES ('r1', 'st1', 0, 'g1', 'P-OLD', 'x/one', 4, CURRENT_TIMESTAMP)",
    "INSERT INTO votes (id, study_task_id, study_id, participant_id, kind, position, choice, "
    "model_a, model_b, self_identified, created_at) VALUES ('b1', 'st1', 's1', 'P-OLD', "
    "'battle', -1, 'a', 'x/one', 'x/two', FALSE, CURRENT_TIMESTAMP)",
    "INSERT INTO votes (id, study_task_id, study_id, participant_id, kind, position, model, "
    "self_identified, created_at) VALUES ('u1', 'st1', 's1', 'P-OLD', 'upvote', 0, 'x/one', "
    "FALSE, CURRENT_TIMESTAMP)",
    "INSERT INTO judge_verdicts (id, study_id, vote_id, judge, side_order, with_execution, "
    "generation_id, verdict, created_at) VALUES ('j1', 's1', 'b1', 'x/judge', 'ab', FALSE, 'g1', "
    "'a', CURRENT_TIMESTAMP)",
)


def test_rows_stored_before_0016_are_turn_one_and_keep_their_verdicts(database_url: str) -> None:
    """A database made at 0015 (the keys as 0003 made them, unnamed on SQLite)."""
    from alembic import command

    from codearena.store.db import make_engine, upgrade

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0015")
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.exec_driver_sql(statement)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        ratings = connection.exec_driver_sql("SELECT id, turn, correctness FROM ratings").all()
        votes = connection.exec_driver_sql("SELECT id, turn FROM votes ORDER BY id").all()
        verdicts = connection.exec_driver_sql("SELECT id, vote_id FROM judge_verdicts").all()
    assert [tuple(r) for r in ratings] == [("r1", 1, 4)]
    assert [tuple(v) for v in votes] == [("b1", 1), ("u1", 1)]
    assert [tuple(v) for v in verdicts] == [("j1", "b1")]
    engine.dispose()
