"""Ratings, votes, upvotes and survey answers, with every refusal; no HTTP."""

from __future__ import annotations

import pytest

from codearena.store.platform_models import Rating, Vote
from codearena.studies import judgements, survey
from codearena.studies.access import generation_at, own_task
from codearena.studies.errors import Conflict, StudyError, UnknownItem
from codearena.studies.judgements import RatingInput, VoteInput
from codearena.studies.survey import LOCKED
from tests.studies.conftest import World


def test_only_the_own_task_and_an_arrived_answer(world: World) -> None:
    study = world.study()
    person, other = world.participant(study), world.participant(study)
    row = world.task(study, person)
    assert own_task(world.store, person.id, row.id).id == row.id
    with pytest.raises(UnknownItem, match="no such task"):
        own_task(world.store, other.id, row.id)
    with pytest.raises(UnknownItem, match="this task has no answer 5"):
        generation_at(world.store, row, 5)
    running = world.task(study, person, texts=[], status="running")
    with pytest.raises(Conflict, match="wait until this answer has arrived"):
        generation_at(world.store, running, 0)


def test_a_rating_is_created_then_changed(world: World) -> None:
    study = world.study()
    row = world.task(study, world.participant(study))
    with pytest.raises(StudyError, match="give at least one rating"):
        judgements.rate(world.store, row, 0, RatingInput())
    judgements.rate(world.store, row, 0, RatingInput(correctness=2, comment="  "))
    judgements.rate(world.store, row, 0, RatingInput(correctness=4, comment=" fine "))
    with world.store.session() as session:
        rating = session.query(Rating).one()
        assert (rating.correctness, rating.comment) == (4, "fine")


def test_a_blind_vote_once_and_flagged_when_an_answer_names_a_model(world: World) -> None:
    study = world.study("blind")
    person = world.participant(study)
    row = world.task(study, person, texts=["As GPT-4, here is the code.", "plain"])
    assert VoteInput.model_validate({"choice": "bothbad"}).choice == "both_bad"
    with pytest.raises(StudyError, match="choice must be one of"):
        judgements.vote(world.store, world.catalog, row, "c")
    vote = judgements.vote(world.store, world.catalog, row, "tie")
    assert (vote.choice, vote.self_identified, row.revealed) == ("tie", True, True)
    with pytest.raises(Conflict, match="already voted"):
        judgements.vote(world.store, world.catalog, row, "a")
    with pytest.raises(StudyError, match="upvotes are for named tasks"):
        judgements.upvote(world.store, world.catalog, row, 0)
    running = world.task(study, person, texts=[], status="running")
    with pytest.raises(Conflict, match="every answer of this task has arrived"):
        judgements.vote(world.store, world.catalog, running, "a")
    assert judgements.summary(world.store, person.id)["votes"] == 1


def test_a_named_upvote_once_per_answer(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    row = world.task(study, person)
    assert judgements.upvote(world.store, world.catalog, row, 1).model == row.models[1]
    with pytest.raises(Conflict, match="already upvoted"):
        judgements.upvote(world.store, world.catalog, row, 1)
    with pytest.raises(StudyError, match="votes are for blind tasks"):
        judgements.vote(world.store, world.catalog, row, "a")
    with world.store.session() as session:
        assert session.query(Vote).count() == 1
    assert judgements.summary(world.store, person.id)["upvotes"] == 1


def test_survey_answers_their_refusals_and_the_lock(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    with pytest.raises(UnknownItem, match="unknown question"):
        survey.save_answer(world.store, study, person.id, "q99", "x")
    with pytest.raises(StudyError):
        survey.save_answer(world.store, study, person.id, "q13", 9)
    errors = survey.save_each(world.store, study, person.id, {"q13": 9, "q14": "notes"})
    assert list(errors) == ["q13"]
    assert survey.own_answers(world.store, person.id) == {"q14": "notes"}
    with pytest.raises(StudyError, match="answer the required questions first: q1"):
        survey.submit(world.store, study, person.id)
    assert "q1" in survey.missing_questions(world.store, study, person.id)
    instrument = survey.instrument_of(study)
    for question in instrument.questions:
        if question.required:
            value = question.options[0] if question.options else question.min
            value = [value] if question.kind == "multi" else value
            survey.save_answer(world.store, study, person.id, question.id, value)
    survey.submit(world.store, study, person.id)
    survey.submit(world.store, study, person.id)  # a second submit changes nothing
    with pytest.raises(Conflict, match=LOCKED):
        survey.save_answer(world.store, study, person.id, "q14", "changed")
    with pytest.raises(Conflict, match=LOCKED):
        survey.save_each(world.store, study, person.id, {"q14": "changed"})
    assert survey.own_answers(world.store, person.id)["q14"] == "notes"
