"""Per-question summaries of a study's survey answers, given in the platform or imported.

Both kinds of answers are stored the same way (``survey_answers.value``: an option for a single
choice, a list of options for a multi-choice, an integer for a rating, text for free text), so
they are analysed the same way: a respondent counts once per option they chose; a value that is no
option of the question counts under "Other" (the question's "Other"-style option if it has one);
ratings get a mean and a median; free-text answers are listed.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from codearena.store import Store, study_rows
from codearena.store.platform_models import Participant, Study
from codearena.store.repo import StudyNotFound as UnknownStudy
from codearena.survey.aliases import other_option
from codearena.survey.instruments import (
    Instrument,
    InstrumentError,
    Question,
    instrument_from_dict,
    parse_number,
)


def study_instrument(study: Study) -> Instrument:
    try:
        return instrument_from_dict(study.survey, f"study {study.id}")
    except InstrumentError as exc:
        raise UnknownStudy(f"the survey of study {study.id} cannot be read: {exc}") from exc


@dataclass
class QuestionSummary:
    number: int
    question: Question
    answered: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    answers: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "number": self.number,
            "id": self.question.id,
            "text": self.question.text,
            "type": self.question.kind,
            "section": self.question.section,
            "answered": self.answered,
            "counts": dict(self.counts),
            "percentages": {
                option: round(100 * n / self.answered, 1) if self.answered else 0.0
                for option, n in self.counts.items()
            },
            "mean": None if self.mean is None else round(self.mean, 4),
            "median": self.median,
        }
        if self.answers is not None:
            data["answers"] = list(self.answers)
        return data


@dataclass
class SurveySummary:
    study_id: str
    respondents: int
    by_source: dict[str, int]
    questions: list[QuestionSummary]

    def question(self, number: int) -> QuestionSummary:
        return self.questions[number - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "respondents": self.respondents,
            "by_source": dict(self.by_source),
            "questions": [q.to_dict() for q in self.questions],
        }


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _buckets(question: Question, value: Any) -> set[str]:
    """The options one respondent's ``value`` counts under (each at most once)."""
    other = other_option(question)
    values = value if isinstance(value, list) else [value]
    return {v if isinstance(v, str) and v in question.options else other for v in values}


def _rating(question: Question, value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    integral = isinstance(value, float) and value.is_integer()
    if integral or (isinstance(value, str) and value.strip().lstrip("+-").isdigit()):
        value = int(value)
    if isinstance(value, int) and question.min <= value <= question.max:
        return value
    return None


def _number(question: Question, value: Any) -> float | None:
    number = parse_number(value)
    return number if number is not None and question.min <= number <= question.max else None


def summarize_question(number: int, question: Question, values: list[Any]) -> QuestionSummary:
    """The summary of one question over the respondents' stored values (blanks skipped)."""
    given = [v for v in values if not _blank(v)]
    summary = QuestionSummary(number, question, answered=len(given))
    if question.kind == "text":
        summary.answers = [str(v).strip() for v in given]
        return summary
    other = other_option(question)
    counter: Counter[str] = Counter()
    if question.kind in ("rating", "number"):
        numbers: list[float | None] = [
            _rating(question, v) if question.kind == "rating" else _number(question, v)
            for v in given
        ]
        valid = [n for n in numbers if n is not None]
        counter[other] += len(numbers) - len(valid)
        if question.kind == "rating":
            counter.update(str(n) for n in valid)
            labels = [str(n) for n in range(question.min, question.max + 1)]
        else:
            labels = []  # numbers are summarised by their mean and median, not counted
        if valid:
            summary.mean = statistics.fmean(valid)
            summary.median = float(statistics.median(valid))
    else:
        for value in given:
            counter.update(_buckets(question, value))
        labels = list(question.options)
    summary.counts = {label: counter[label] for label in labels}
    summary.counts.setdefault(other, counter[other])
    return summary


def summarize_survey(store: Store, study_id: str) -> SurveySummary:
    """Every question of the study's instrument over every respondent (platform and imported).

    A respondent is a participant with at least one stored, non-blank answer among the study's
    survey answers, as ``store.study_rows`` selects them (the rows the analysis reads and the
    exports write). Answers are taken in the order the participants joined.
    """
    with store.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise UnknownStudy(f"no study with id {study_id!r}")
        answers = list(session.scalars(study_rows.survey_answers(study_id)))
        people = {p.id: p for p in session.scalars(study_rows.participants(study_id))}
        for answer in answers:  # an answer's study decides, even if its participant is elsewhere
            if answer.participant_id not in people:
                found = session.get(Participant, answer.participant_id)
                if found is not None:
                    people[found.id] = found
    joined = {
        pid: n
        for n, pid in enumerate(
            sorted(people, key=lambda pid: (people[pid].created_at, people[pid].pseudonym, pid))
        )
    }
    rows = sorted(
        (a for a in answers if a.participant_id in joined),
        key=lambda a: joined[a.participant_id],
    )
    instrument = study_instrument(study)
    by_question: dict[str, list[Any]] = {q.id: [] for q in instrument.questions}
    respondents: set[str] = set()
    for row in rows:
        if row.question_id in by_question and not _blank(row.value):
            by_question[row.question_id].append(row.value)
            respondents.add(row.participant_id)
    by_source = Counter(people[p].source for p in respondents)
    return SurveySummary(
        study_id=study_id,
        respondents=len(respondents),
        by_source={"platform": by_source["platform"], "import": by_source["import"]},
        questions=[
            summarize_question(n, q, by_question[q.id])
            for n, q in enumerate(instrument.questions, start=1)
        ],
    )
