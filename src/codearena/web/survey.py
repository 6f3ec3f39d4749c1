"""The participant's survey: answers saved one by one, required questions checked on submit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Participant, Study, SurveyAnswer
from codearena.survey import Instrument, InstrumentError, instrument_from_dict
from codearena.web.errors import ApiError, NotFound


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


LOCKED = "the survey has been submitted; its answers are locked and can no longer be changed"


def completed_at(store: Store, participant_id: str) -> datetime | None:
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        return participant.survey_completed_at if participant else None


def ensure_open(store: Store, participant_id: str) -> None:
    """Submitted answers are locked: any change after the submit is refused (409), unchanged."""
    if completed_at(store, participant_id) is not None:
        raise ApiError(409, LOCKED)


def save_answer(
    store: Store, study: Study, participant_id: str, question_id: str, value: Any
) -> Any:
    """Validate and store one answer (a blank value clears it); returns the stored value."""
    ensure_open(store, participant_id)
    instrument = instrument_of(study)
    try:
        question = instrument.question(question_id)
        normalised = question.validate(value)
    except InstrumentError as exc:
        status = 404 if "unknown question" in str(exc) else 400
        raise ApiError(status, str(exc)) from exc
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

    Raises the 409 of :func:`ensure_open` (nothing saved) once the survey is submitted.
    """
    ensure_open(store, participant_id)
    errors: dict[str, str] = {}
    for question_id, value in values.items():
        try:
            save_answer(store, study, participant_id, question_id, value)
        except ApiError as exc:
            errors[question_id] = exc.message
    return errors


def missing_questions(store: Store, study: Study, participant_id: str) -> dict[str, str]:
    """``{question id: "this question is required"}`` for every required question unanswered."""
    missing = instrument_of(study).missing(own_answers(store, participant_id))
    return {q.id: "this question is required" for q in missing}


def submit(store: Store, study: Study, participant_id: str) -> None:
    instrument = instrument_of(study)
    missing = instrument.missing(own_answers(store, participant_id))
    if missing:
        numbers = ", ".join(q.id for q in missing)
        raise ApiError(400, f"answer the required questions first: {numbers}")
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise NotFound("no such participant")
        participant.survey_completed_at = participant.survey_completed_at or datetime.now(UTC)


def survey_view(store: Store, study: Study, participant_id: str) -> dict[str, Any]:
    with store.session() as session:
        participant = session.get(Participant, participant_id)
    return {
        "instrument": instrument_of(study).to_dict(),
        "answers": own_answers(store, participant_id),
        "completed": bool(participant and participant.survey_completed_at),
    }
