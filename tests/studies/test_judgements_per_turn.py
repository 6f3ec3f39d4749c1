"""Ratings and upvotes of every turn's answer, each on its own row and generation; the analysis
counts a turn-2 rating on turn 2's answer, never as a second rating of turn 1's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from codearena.analysis.figures import generation_points, rated_rows, units
from codearena.analysis.load import load_study
from codearena.store.models import Generation
from codearena.store.platform_models import Rating, StudyTask, Vote
from codearena.studies import judgements
from codearena.studies.errors import Conflict, UnknownItem
from codearena.studies.judgements import RatingInput
from tests.studies.conftest import World


def _second_turn(world: World, row: StudyTask) -> list[str]:
    """A follow-up round stored at turn 2 for every position; the generations' ids by turn."""
    with world.store.session() as session:
        first = session.scalars(
            select(Generation)
            .where(Generation.task_id == row.task_id)
            .order_by(Generation.position)
        ).all()
        for g in first:
            session.add(
                Generation(
                    task_id=g.task_id,
                    position=g.position,
                    model=g.model,
                    provider="fake",
                    status="ok",
                    text="```python\nprint(2)\n```\n",
                    code=[{"language": "python", "source": "print(2)"}],
                    turn=2,
                    parent_id=g.id,
                    kind="follow_up",
                    prompt="again",
                )
            )
    return [g.id for g in first]


def test_turn_one_and_turn_two_are_rated_and_upvoted_separately(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    row = world.task(study, person)
    _second_turn(world, row)
    first = judgements.rate(world.store, row, 0, RatingInput(correctness=5))
    second = judgements.rate(world.store, row, 0, RatingInput(correctness=1), turn=2)
    judgements.rate(world.store, row, 0, RatingInput(correctness=2), turn=2)  # changed, not added
    assert first.generation_id != second.generation_id
    with pytest.raises(UnknownItem, match="this task has no answer 0 at turn 3"):
        judgements.rate(world.store, row, 0, RatingInput(correctness=3), turn=3)
    assert judgements.upvote(world.store, world.catalog, row, 0).turn == 1
    assert judgements.upvote(world.store, world.catalog, row, 0, turn=2).turn == 2
    with pytest.raises(Conflict, match="already upvoted"):
        judgements.upvote(world.store, world.catalog, row, 0, turn=2)
    with world.store.session() as session:
        ratings = session.scalars(select(Rating).order_by(Rating.turn)).all()
        assert [(r.turn, r.correctness) for r in ratings] == [(1, 5), (2, 2)]
        turns = {g.id: g.turn for g in session.scalars(select(Generation))}
        assert [turns[r.generation_id or ""] for r in ratings] == [1, 2]
        upvotes = session.scalars(select(Vote).order_by(Vote.turn)).all()
        assert [(v.position, v.turn) for v in upvotes] == [(0, 1), (0, 2)]
    assert judgements.summary(world.store, person.id)["upvotes"] == 2


def test_the_analysis_counts_each_turns_rating_on_its_own_answer(world: World) -> None:
    study = world.study()
    row = world.task(study, world.participant(study))
    _second_turn(world, row)
    judgements.rate(world.store, row, 0, RatingInput(correctness=5, minutes_to_usable=1))
    judgements.rate(world.store, row, 0, RatingInput(correctness=1, minutes_to_usable=9), turn=2)
    data = load_study(world.store, study.id)
    assert len(rated_rows(data)) == 2
    points = {p["generation_id"]: p["correctness"] for p in generation_points(data, units(data))}
    turn_of = {g.id: g.turn for g in data.generations.values()}
    # turn 1's answer keeps its own 5 (not the mean with turn 2's 1), turn 2's answer has its 1
    assert sorted((turn_of[g], score) for g, score in points.items()) == [(1, 5.0), (2, 1.0)]
    minutes = {u.generation_id: u.minutes for u in units(data) if u.minutes}
    assert sorted((turn_of[g], m) for g, m in minutes.items()) == [(1, (1.0,)), (2, (9.0,))]
