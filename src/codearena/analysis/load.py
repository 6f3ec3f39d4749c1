"""Loading one study's rows from the store, and the group keys every analysis row carries.

Everything is read in one session and returned as detached rows (the store's sessions do not
expire objects on commit), so the pure statistics in ``codearena.stats`` can run on them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import select

from codearena import stats
from codearena.stats.bradley_terry import Winner
from codearena.store import Store, study_rows
from codearena.store.models import CodeMetrics, Execution, Generation, Task
from codearena.store.platform_models import (
    DesignAssignment,
    DesignTask,
    Fix,
    Participant,
    Rating,
    Study,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.repo import StudyNotFound, find_study
from codearena.store.research_models import ImportedRating, ImportedVote

GROUP_KEYS = ("language", "category", "participant", "experience", "role")
"""The keys of the groups an analysis row belongs to."""

EXPERIENCE_TEXT = "How much experience do you have in software development?"
ROLE_TEXT = "What are your main role and function in company?"
MAX_CATEGORY = 64
# a battle's stored choice -> the winner of a stats.Vote; "bothbad" (stored before migration
# 0005, which rewrote it) is still understood
BATTLE_WINNERS: dict[str, Winner] = {
    "a": "a",
    "b": "b",
    "tie": "tie",
    "bothbad": "both_bad",
    "both_bad": "both_bad",
}

Groups = dict[str, str | None]


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def question_id(instrument: dict[str, Any], text: str, *keywords: str) -> str | None:
    """The id of the instrument's question with this text (case and punctuation aside), else
    of the first question whose text holds every keyword."""
    questions = [q for q in instrument.get("questions", []) if isinstance(q, dict)]
    wanted = _normalise(text)
    for question in questions:
        if _normalise(str(question.get("text", ""))) == wanted:
            return str(question.get("id"))
    for question in questions:
        words = _normalise(str(question.get("text", ""))).split()
        if keywords and all(k in words for k in keywords):
            return str(question.get("id"))
    return None


def _answer_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class StudyData:
    """Every row of one study the analysis needs."""

    study: Study
    participants: list[Participant] = field(default_factory=list)
    study_tasks: list[StudyTask] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    generations: dict[str, Generation] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    metrics: dict[str, CodeMetrics] = field(default_factory=dict)
    ratings: list[Rating] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    imported: list[ImportedVote] = field(default_factory=list)
    answers: list[SurveyAnswer] = field(default_factory=list)
    person_groups: dict[str, Groups] = field(default_factory=dict)
    design_tasks: list[DesignTask] = field(default_factory=list)
    assignments: list[DesignAssignment] = field(default_factory=list)
    imported_ratings: list[ImportedRating] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    finding_tools: set[str] = field(default_factory=set)

    def task_groups(self, study_task: StudyTask) -> Groups:
        """Language and category of the pipeline task, experience and role of its participant."""
        task = self.tasks.get(study_task.task_id or "")
        person = self.person_groups.get(study_task.participant_id, {})
        return {
            "language": task.output_language if task else None,
            "category": task.category if task else None,
            "participant": study_task.participant_id,
            "experience": person.get("experience"),
            "role": person.get("role"),
        }

    def generations_of(self, task_id: str | None) -> list[Generation]:
        rows = [g for g in self.generations.values() if g.task_id == task_id]
        return sorted(rows, key=lambda g: (g.position, g.id))


def load_study(store: Store, study_id: str) -> StudyData:
    """All the rows of a study, as ``store.study_rows`` selects them (the exports select the
    same rows); raises StudyNotFound for an unknown id."""
    with store.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise StudyNotFound(f"no study with id {study_id!r}")
        data = StudyData(study=study)
        data.participants = list(session.scalars(study_rows.participants(study_id)))
        data.study_tasks = list(session.scalars(study_rows.study_tasks(study_id)))
        data.tasks = {t.id: t for t in session.scalars(study_rows.tasks(study_id))}
        data.generations = {g.id: g for g in session.scalars(study_rows.generations(study_id))}
        data.executions = list(session.scalars(study_rows.executions(study_id)))
        for row in session.scalars(study_rows.code_metrics(study_id)):
            data.metrics[row.generation_id] = row  # the latest measurement wins
        data.ratings = list(session.scalars(study_rows.ratings(study_id)))
        data.votes = list(session.scalars(study_rows.votes(study_id)))
        data.imported = list(session.scalars(study_rows.imported_votes(study_id)))
        data.answers = list(session.scalars(study_rows.survey_answers(study_id)))
        data.design_tasks = list(session.scalars(study_rows.design_tasks(study_id)))
        data.assignments = list(session.scalars(study_rows.design_assignments(study_id)))
        data.imported_ratings = list(session.scalars(study_rows.imported_ratings(study_id)))
        data.fixes = list(session.scalars(study_rows.fixes(study_id)))
        found = study_rows.findings(study_id).subquery()
        data.finding_tools = set(session.scalars(select(found.c.tool).distinct()))
    data.person_groups = participant_groups(study, data.answers)
    return data


def participant_groups(study: Study, answers: list[SurveyAnswer]) -> dict[str, Groups]:
    """``{participant: {"experience": ..., "role": ...}}`` from the answers to the study's
    experience and role questions, found by their text in the stored instrument."""
    experience = question_id(study.survey or {}, EXPERIENCE_TEXT, "experience", "software")
    role = question_id(study.survey or {}, ROLE_TEXT, "role")
    groups: defaultdict[str, Groups] = defaultdict(lambda: {"experience": None, "role": None})
    for answer in answers:
        if experience is not None and answer.question_id == experience:
            groups[answer.participant_id]["experience"] = _answer_text(answer.value)
        elif role is not None and answer.question_id == role:
            groups[answer.participant_id]["role"] = _answer_text(answer.value)
    return dict(groups)


def imported_participant(rater: str | None) -> str | None:
    """The participant of an imported vote, for the participant bootstrap: its rater id
    prefixed ``imported:`` (so it never coincides with a platform participant); a vote imported
    without a rater is a participant of its own (None)."""
    rater = (rater or "").strip()
    return f"imported:{rater}" if rater else None


def platform_battles(data: StudyData) -> list[tuple[Vote, stats.Vote, Groups]]:
    """The study's platform battles with a valid choice between two models: each stored row,
    its ``stats.Vote`` (self-identified ones flagged, the participant set) and its groups."""
    by_id = {st.id: st for st in data.study_tasks}
    result: list[tuple[Vote, stats.Vote, Groups]] = []
    for row in data.votes:
        winner = BATTLE_WINNERS.get(row.choice or "")
        if row.kind != "battle" or winner is None or not row.model_a or not row.model_b:
            continue
        if row.model_a == row.model_b:
            continue
        study_task = by_id.get(row.study_task_id)
        groups: Groups = (
            data.task_groups(study_task)
            if study_task is not None
            else dict.fromkeys(GROUP_KEYS, None) | {"participant": row.participant_id}
        )
        vote = stats.Vote(
            row.model_a,
            row.model_b,
            winner,
            flagged=bool(row.self_identified),
            participant=row.participant_id,
        )
        result.append((row, vote, groups))
    return result


def battle_votes(
    data: StudyData, *, include_imported: bool = True
) -> list[tuple[stats.Vote, Groups]]:
    """The study's battle votes (self-identified ones flagged) and, unless told otherwise, its
    imported votes, each with its group keys. Each vote carries its participant (the platform's
    id, or ``imported_participant`` of an imported vote's rater) for the participant
    bootstrap."""
    result = [(vote, groups) for _, vote, groups in platform_battles(data)]
    if include_imported:
        for imported in data.imported:
            winner = BATTLE_WINNERS.get(imported.winner)
            if winner is None or imported.model_a == imported.model_b:
                continue
            groups = {
                "language": imported.language,
                "category": imported.category,
                "participant": imported.participant,
                "experience": None,
                "role": None,
            }
            rater = imported_participant(imported.participant)
            vote = stats.Vote(imported.model_a, imported.model_b, winner, participant=rater)
            result.append((vote, groups))
    return result


def study_votes(
    store: Store, study_id: str, *, include_imported: bool = True
) -> list[tuple[stats.Vote, Groups]]:
    """The votes a study's leaderboard is built from, with their group keys (language,
    category, participant, experience, role)."""
    return battle_votes(load_study(store, study_id), include_imported=include_imported)


def tag_task(store: Store, task_id: str, category: str | None) -> str | None:
    """Set (or, with a blank category, clear) a task's category; returns the stored value."""
    value = (category or "").strip() or None
    if value is not None and len(value) > MAX_CATEGORY:
        raise ValueError(f"a category has at most {MAX_CATEGORY} characters")
    with store.session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise LookupError(f"no task with id {task_id!r}")
        task.category = value
    return value


def activity_bounds(data: StudyData) -> tuple[str | None, str | None]:
    """The first and last moment anything happened on the platform in the study (ISO 8601).
    Imported rows (survey respondents with ``source = "import"`` and their answers, imported
    votes and ratings) carry only the moment they were imported, which is no collection date,
    so they are left out."""
    platform = {p.id for p in data.participants if (p.source or "platform") == "platform"}
    moments = [p.created_at for p in data.participants if p.id in platform]
    moments += [st.created_at for st in data.study_tasks]
    moments += [r.updated_at for r in data.ratings]
    moments += [v.created_at for v in data.votes]
    moments += [a.updated_at for a in data.answers if a.participant_id in platform]
    known = sorted(m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments if m is not None)
    if not known:
        return None, None
    return known[0].isoformat(), known[-1].isoformat()


__all__ = [
    "GROUP_KEYS",
    "Groups",
    "StudyData",
    "StudyNotFound",
    "activity_bounds",
    "battle_votes",
    "find_study",
    "imported_participant",
    "load_study",
    "participant_groups",
    "platform_battles",
    "question_id",
    "study_votes",
    "tag_task",
]
