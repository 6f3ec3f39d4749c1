"""Reading one study's rows out of the store, as plain dicts keyed by the export's columns.

Values are canonical: timestamps are timezone-aware UTC ``datetime`` objects (SQLite hands them
back naive; they were written in UTC), JSON columns are Python values. Participant ids are still
the raw ones here; ``pseudonyms`` replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from codearena.exports.tables import (
    CODE_ASSIGNMENTS,
    CODE_METRICS,
    CODING_CATEGORIES,
    CODING_CODES,
    CODING_CONCEPTS,
    EXECUTIONS,
    FINDINGS,
    GENERATIONS,
    IMPORTED_VOTES,
    PARTICIPANTS,
    RATINGS,
    STUDY,
    SURVEY_ANSWERS,
    TASKS,
    VOTES,
    TableSpec,
    utc,
)
from codearena.store.models import CodeMetrics, Execution, Finding, Generation, Task
from codearena.store.platform_models import (
    Participant,
    Rating,
    Study,
    StudyExecution,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.research_models import (
    CodeAssignment,
    CodingCategory,
    CodingCode,
    CodingConcept,
    ImportedVote,
)

Row = dict[str, Any]
Rows = dict[str, list[Row]]

# tasks-file column -> Task attribute, for the task's own columns (the rest are the study task's)
TASK_COLUMNS = {
    "task_created_at": "created_at",
    "task_prompt": "prompt",
    "task_mode": "mode",
    "requirement": "requirement",
    "tone": "tone",
    "output_language": "output_language",
    "temperature": "temperature",
    "messages": "messages",
    "task_source": "source",
    "category": "category",
    "task_tests": "tests",
}
STUDY_EXECUTION_COLUMNS = ("study_task_id", "participant_id", "position")


def _row(obj: Any, spec: TableSpec, names: Sequence[str] | None = None) -> Row:
    row: Row = {}
    for name in names if names is not None else spec.column_names:
        value = getattr(obj, name)
        row[name] = utc(value) if isinstance(value, datetime) else value
    return row


def collect(session: Session, study: Study) -> Rows:
    """Every exported row of one study, per table name (raw participant ids)."""
    sid = study.id
    rows: Rows = {STUDY.name: [_row(study, STUDY)]}
    rows[PARTICIPANTS.name] = [
        _row(p, PARTICIPANTS)
        for p in session.scalars(select(Participant).where(Participant.study_id == sid))
    ]

    study_tasks = list(session.scalars(select(StudyTask).where(StudyTask.study_id == sid)))
    # subqueries rather than id lists: a large study would pass the drivers' parameter limits
    st_ids = select(StudyTask.id).where(StudyTask.study_id == sid)
    task_ids = select(StudyTask.task_id).where(
        StudyTask.study_id == sid, StudyTask.task_id.is_not(None)
    )
    generation_ids = select(Generation.id).where(Generation.task_id.in_(task_ids))
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    own = [c for c in TASKS.column_names if c not in TASK_COLUMNS]
    rows[TASKS.name] = []
    for st in study_tasks:
        row = _row(st, TASKS, own)
        task = tasks.get(st.task_id) if st.task_id is not None else None
        for column, attribute in TASK_COLUMNS.items():
            value = getattr(task, attribute) if task is not None else None
            row[column] = utc(value) if isinstance(value, datetime) else value
        rows[TASKS.name].append(row)

    rows[GENERATIONS.name] = [
        _row(g, GENERATIONS)
        for g in session.scalars(select(Generation).where(Generation.task_id.in_(task_ids)))
    ]

    links = {
        link.execution_id: link
        for link in session.scalars(
            select(StudyExecution).where(StudyExecution.study_task_id.in_(st_ids))
        )
    }
    executions = session.scalars(
        select(Execution).where(
            or_(
                Execution.task_id.in_(task_ids),
                Execution.id.in_(
                    select(StudyExecution.execution_id).where(
                        StudyExecution.study_task_id.in_(st_ids)
                    )
                ),
            )
        )
    )
    base = [c for c in EXECUTIONS.column_names if c not in STUDY_EXECUTION_COLUMNS]
    rows[EXECUTIONS.name] = []
    for execution in executions:
        row = _row(execution, EXECUTIONS, base)
        link = links.get(execution.id)
        for column in STUDY_EXECUTION_COLUMNS:
            row[column] = getattr(link, column) if link is not None else None
        rows[EXECUTIONS.name].append(row)

    rows[CODE_METRICS.name] = [
        _row(m, CODE_METRICS)
        for m in session.scalars(
            select(CodeMetrics).where(CodeMetrics.generation_id.in_(generation_ids))
        )
    ]
    rows[FINDINGS.name] = [
        _row(f, FINDINGS)
        for f in session.scalars(select(Finding).where(Finding.generation_id.in_(generation_ids)))
    ]
    rows[RATINGS.name] = [
        _row(r, RATINGS)
        for r in session.scalars(select(Rating).where(Rating.study_task_id.in_(st_ids)))
    ]
    rows[VOTES.name] = [
        _row(v, VOTES)
        for v in session.scalars(
            select(Vote).where(or_(Vote.study_id == sid, Vote.study_task_id.in_(st_ids)))
        )
    ]
    owned_by_study: tuple[tuple[TableSpec, Any], ...] = (
        (IMPORTED_VOTES, ImportedVote),
        (SURVEY_ANSWERS, SurveyAnswer),
        (CODING_CATEGORIES, CodingCategory),
        (CODING_CONCEPTS, CodingConcept),
        (CODING_CODES, CodingCode),
    )
    for spec, model in owned_by_study:
        query = select(model).where(model.study_id == sid)
        rows[spec.name] = [_row(item, spec) for item in session.scalars(query)]
    rows[CODE_ASSIGNMENTS.name] = [
        _row(a, CODE_ASSIGNMENTS)
        for a in session.scalars(
            select(CodeAssignment).where(
                CodeAssignment.code_id.in_(select(CodingCode.id).where(CodingCode.study_id == sid))
            )
        )
    ]
    return rows
