"""Rows for the coding tests: a study with the study-2025 survey, participants, free text."""

from __future__ import annotations

from codearena.store import Store
from codearena.store.platform_models import (
    Participant,
    Rating,
    Study,
    StudyTask,
    SurveyAnswer,
)
from codearena.survey import STUDY_2025


def make_study(store: Store, owner_id: str | None = None, name: str = "coding") -> str:
    with store.session() as session:
        study = Study(
            name=name,
            models=["openai/gpt-4", "openai/gpt-4o"],
            mode="named",
            survey_name=STUDY_2025.name,
            survey=STUDY_2025.to_dict(),
            owner_id=owner_id,
        )
        session.add(study)
    return study.id


def add_participant(store: Store, study_id: str) -> str:
    with store.session() as session:
        person = Participant(study_id=study_id, pseudonym="secret pseudonym")
        session.add(person)
    return person.id


def add_answer(
    store: Store, study_id: str, question: str, text: object, raw: str | None = None
) -> str:
    participant = add_participant(store, study_id)
    with store.session() as session:
        row = SurveyAnswer(
            study_id=study_id, participant_id=participant, question_id=question, value=text, raw=raw
        )
        session.add(row)
    return row.id


def add_comment(store: Store, study_id: str, text: str | None) -> str:
    participant = add_participant(store, study_id)
    with store.session() as session:
        task = StudyTask(
            study_id=study_id, participant_id=participant, mode="named", models=[], prompt="p"
        )
        session.add(task)
        session.flush()
        rating = Rating(
            study_task_id=task.id,
            position=0,
            participant_id=participant,
            model="openai/gpt-4",
            correctness=4,
            comment=text,
        )
        session.add(rating)
    return rating.id
