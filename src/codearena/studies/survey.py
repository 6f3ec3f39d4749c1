"""The participant's survey: answers saved one by one against the study's instrument snapshot,
required questions checked on submit, and every answer locked once submitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Participant, Study, SurveyAnswer
from codearena.studies.errors import Conflict, StudyError, UnknownItem
from codearena.survey import Instrument, InstrumentError, instrument_from_dict

LOCKED = "the survey has been submitted; its answers are locked and can no longer be changed"
REQUIRED = "this question is required"


class AnswerInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str | int | list[str] | None


def instrument_of(study: Study) -> Instrument:
    return instrument_from_dict(study.survey, f"study {study.id}")


def own_answers(store: Store, participant_id: str) -> dict[str, Any]:
    with store.session() as session:
        rows = session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.participant_id == participant_id)
        ).all()
    return {row.question_id: row.value for row in rows}


def completed_at(store: Store, participant_id: str) -> datetime | None:
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        return participant.survey_completed_at if participant else None


def ensure_open(store: Store, participant_id: str) -> None:
    """Submitted answers are locked: any change after the submit is a :class:`Conflict`."""
    if completed_at(store, participant_id) is not None:
        raise Conflict(LOCKED)


def save_answer(
    store: Store, study: Study, participant_id: str, question_id: str, value: Any
) -> Any:
    """Validate and store one answer (a blank value clears it); returns the stored value."""
    ensure_open(store, participant_id)
    instrument = instrument_of(study)
    try:
        question = instrument.question(question_id)
    except InstrumentError as exc:
        raise UnknownItem(str(exc)) from exc
    try:
        normalised = question.validate(value)
    except InstrumentError as exc:
        raise StudyError(str(exc)) from exc
    with store.session() as session:
        row = session.scalars(
            select(SurveyAnswer).where(
                SurveyAnswer.participant_id == participant_id,
                SurveyAnswer.question_id == question_id,
            )
        ).first()
        if normalised is None:
            if row is not None:
                session.delete(row)
            return None
        if row is None:
            row = SurveyAnswer(
                study_id=study.id, participant_id=participant_id, question_id=question_id
            )
        row.value = normalised
        row.updated_at = datetime.now(UTC)
        session.add(row)
    return normalised


def save_each(
    store: Store, study: Study, participant_id: str, values: dict[str, Any]
) -> dict[str, str]:
    """Save every answer that validates; returns ``{question id: message}`` for the others.

    Raises the :class:`Conflict` of :func:`ensure_open` (nothing saved) once submitted.
    """
    ensure_open(store, participant_id)
    errors: dict[str, str] = {}
    for question_id, value in values.items():
        try:
            save_answer(store, study, participant_id, question_id, value)
        except StudyError as exc:
            errors[question_id] = str(exc)
    return errors


def missing_questions(store: Store, study: Study, participant_id: str) -> dict[str, str]:
    """``{question id: "this question is required"}`` for every required question unanswered."""
    missing = instrument_of(study).missing(own_answers(store, participant_id))
    return {q.id: REQUIRED for q in missing}


def submit(store: Store, study: Study, participant_id: str) -> None:
    """Finish the survey once every required question is answered; a second submit changes
    nothing."""
    missing = instrument_of(study).missing(own_answers(store, participant_id))
    if missing:
        numbers = ", ".join(q.id for q in missing)
        raise StudyError(f"answer the required questions first: {numbers}")
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise UnknownItem("no such participant")
        participant.survey_completed_at = participant.survey_completed_at or datetime.now(UTC)
