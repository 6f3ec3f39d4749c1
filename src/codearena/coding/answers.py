"""The free-text answers of a study: survey answers to ``text`` questions and rating comments.

An answer is identified by its kind (``survey``: a ``survey_answers`` row; ``comment``: a
``ratings`` row's comment) and its row id. Its question is the instrument's question id, or
``comments`` for rating comments. Texts are participants' words: untrusted, shown escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from codearena.coding.errors import CodingNotFound
from codearena.store import Store, study_rows
from codearena.store.platform_models import Rating, Study, SurveyAnswer
from codearena.survey import InstrumentError, instrument_from_dict

COMMENTS = "comments"
ANSWER_KINDS = ("survey", "comment")


@dataclass(frozen=True)
class QuestionInfo:
    id: str
    text: str
    free_text: bool


@dataclass(frozen=True)
class CodeRef:
    """A code on an answer, with the concept and category it belongs to (if any)."""

    id: str
    name: str
    concept: str | None
    category: str | None


@dataclass
class FreeAnswer:
    kind: str  # "survey" or "comment"
    id: str
    question: str
    participant_id: str
    text: str
    codes: list[CodeRef] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.id)


@dataclass(frozen=True)
class AnswerFilter:
    question: str | None = None
    code_id: str | None = None
    uncoded: bool = False
    search: str | None = None

    def keep(self, answer: FreeAnswer) -> bool:
        if self.question and answer.question != self.question:
            return False
        if self.code_id and all(c.id != self.code_id for c in answer.codes):
            return False
        if self.uncoded and answer.codes:
            return False
        needle = (self.search or "").strip().casefold()
        return not needle or needle in answer.text.casefold()


def load_study(session: Session, study_id: str) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise CodingNotFound("no such study")
    return study


def study_questions(study: Study) -> list[QuestionInfo]:
    """Every question of the study's instrument, then ``comments`` (rating comments)."""
    questions: list[QuestionInfo] = []
    try:
        instrument = instrument_from_dict(study.survey, f"study {study.id}")
    except InstrumentError:
        instrument = None
    if instrument is not None:
        questions = [QuestionInfo(q.id, q.text, q.kind == "text") for q in instrument.questions]
    questions.append(QuestionInfo(COMMENTS, "Comments on rated answers", True))
    return questions


def _survey_text(row: SurveyAnswer) -> str:
    value: Any = row.value
    if isinstance(value, str) and value.strip():
        return value
    return row.raw or ""


def _codes_by_answer(session: Session, study_id: str) -> dict[tuple[str, str], list[CodeRef]]:
    """The codes on each answer: the study's codes, concepts, categories and assignments, as
    ``store.study_rows`` selects them (the exports write the same rows)."""
    categories = {c.id: c.name for c in session.scalars(study_rows.coding_categories(study_id))}
    concepts = {
        c.id: (c.name, categories.get(c.category_id) if c.category_id else None)
        for c in session.scalars(study_rows.coding_concepts(study_id))
    }
    codes = {c.id: c for c in session.scalars(study_rows.coding_codes(study_id))}
    found: dict[tuple[str, str], list[CodeRef]] = {}
    for assignment in session.scalars(study_rows.code_assignments(study_id)):
        code = codes[assignment.code_id]
        concept, category = concepts.get(code.concept_id or "", (None, None))
        found.setdefault((assignment.answer_kind, assignment.answer_id), []).append(
            CodeRef(code.id, code.name, concept, category)
        )
    for refs in found.values():
        refs.sort(key=lambda r: r.name.casefold())
    return found


def load_answers(session: Session, study: Study) -> list[FreeAnswer]:
    """Every non-blank free-text answer of the study, with its codes, in question order: of
    the survey answers and ratings ``store.study_rows`` selects (those the exports write)."""
    questions = study_questions(study)
    order = {q.id: n for n, q in enumerate(questions)}
    text_ids = [q.id for q in questions if q.free_text and q.id != COMMENTS]
    answers: list[FreeAnswer] = []
    if text_ids:
        for row in session.scalars(
            study_rows.survey_answers(study.id).where(SurveyAnswer.question_id.in_(text_ids))
        ):
            text = _survey_text(row)
            if text.strip():
                answers.append(
                    FreeAnswer("survey", row.id, row.question_id, row.participant_id, text)
                )
    comments = session.scalars(study_rows.ratings(study.id).where(Rating.comment.is_not(None)))
    for rating in comments:
        if rating.comment and rating.comment.strip():
            answers.append(
                FreeAnswer("comment", rating.id, COMMENTS, rating.participant_id, rating.comment)
            )
    codes = _codes_by_answer(session, study.id)
    for answer in answers:
        answer.codes = codes.get(answer.key, [])
    answers.sort(key=lambda a: (order.get(a.question, len(order)), a.participant_id, a.id))
    return answers


def find_answer(session: Session, study_id: str, kind: str, answer_id: str) -> FreeAnswer:
    """One free-text answer of the study (without its codes); 404 for anything else, such as
    a row ``store.study_rows`` does not count among the study's."""
    if kind == "survey":
        row = session.scalars(
            study_rows.survey_answers(study_id).where(SurveyAnswer.id == answer_id)
        ).first()
        if row is not None:
            study = load_study(session, study_id)
            free = {q.id for q in study_questions(study) if q.free_text}
            if row.question_id in free and _survey_text(row).strip():
                return FreeAnswer(
                    "survey", row.id, row.question_id, row.participant_id, _survey_text(row)
                )
    elif kind == "comment":
        rating = session.scalars(study_rows.ratings(study_id).where(Rating.id == answer_id)).first()
        if rating is not None and rating.comment and rating.comment.strip():
            return FreeAnswer("comment", rating.id, COMMENTS, rating.participant_id, rating.comment)
    raise CodingNotFound("no such free-text answer in this study")


def list_answers(
    store: Store, study_id: str, filters: AnswerFilter | None = None
) -> list[FreeAnswer]:
    """The study's free-text answers with their codes, narrowed by ``filters``."""
    chosen = filters or AnswerFilter()
    with store.session() as session:
        study = load_study(session, study_id)
        return [a for a in load_answers(session, study) if chosen.keep(a)]
