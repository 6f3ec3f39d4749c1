"""Reading one study's rows out of the store, as plain dicts keyed by the export's columns.

Values are canonical: timestamps are timezone-aware UTC ``datetime`` objects (SQLite hands them
back naive; they were written in UTC), JSON columns are Python values. Participant ids are still
the raw ones here; ``pseudonyms`` replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from codearena.exports.tables import (
    API_CALLS,
    CODE_ASSIGNMENTS,
    CODE_METRICS,
    CODING_CATEGORIES,
    CODING_CODES,
    CODING_CONCEPTS,
    DESIGN_ASSIGNMENTS,
    DESIGN_TASKS,
    EXECUTION_ARTIFACTS,
    EXECUTIONS,
    FINDINGS,
    FIXES,
    GENERATIONS,
    IMPORTED_RATINGS,
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
from codearena.store import study_rows
from codearena.store.platform_models import Study

Row = dict[str, Any]
Rows = dict[str, list[Row]]

# tasks-file column -> Task attribute, for the task's own columns (the rest are the study task's)
TASK_COLUMNS = {
    "task_created_at": "created_at",
    "task_prompt": "prompt",
    "task_mode": "prompt_style",  # the column's earlier name, kept for scripts
    "task_prompt_style": "prompt_style",
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
    """Every exported row of one study, per table name (raw participant ids): the rows
    ``store.study_rows`` selects, the ones the analysis reads."""
    sid = study.id
    rows: Rows = {STUDY.name: [_row(study, STUDY)]}
    rows[PARTICIPANTS.name] = [
        _row(p, PARTICIPANTS) for p in session.scalars(study_rows.participants(sid))
    ]

    tasks = {t.id: t for t in session.scalars(study_rows.tasks(sid))}
    own = [c for c in TASKS.column_names if c not in TASK_COLUMNS]
    rows[TASKS.name] = []
    for st in session.scalars(study_rows.study_tasks(sid)):
        row = _row(st, TASKS, own)
        task = tasks.get(st.task_id) if st.task_id is not None else None
        for column, attribute in TASK_COLUMNS.items():
            value = getattr(task, attribute) if task is not None else None
            row[column] = utc(value) if isinstance(value, datetime) else value
        rows[TASKS.name].append(row)

    rows[GENERATIONS.name] = [
        _row(g, GENERATIONS) for g in session.scalars(study_rows.generations(sid))
    ]

    links = {link.execution_id: link for link in session.scalars(study_rows.execution_links(sid))}
    base = [c for c in EXECUTIONS.column_names if c not in STUDY_EXECUTION_COLUMNS]
    rows[EXECUTIONS.name] = []
    for execution in session.scalars(study_rows.executions(sid)):
        row = _row(execution, EXECUTIONS, base)
        link = links.get(execution.id)
        for column in STUDY_EXECUTION_COLUMNS:
            row[column] = getattr(link, column) if link is not None else None
        rows[EXECUTIONS.name].append(row)

    selections: tuple[tuple[TableSpec, Select[Any]], ...] = (
        (EXECUTION_ARTIFACTS, study_rows.execution_artifacts(sid)),
        (CODE_METRICS, study_rows.code_metrics(sid)),
        (FINDINGS, study_rows.findings(sid)),
        (RATINGS, study_rows.ratings(sid)),
        (VOTES, study_rows.votes(sid)),
        (IMPORTED_VOTES, study_rows.imported_votes(sid)),
        (IMPORTED_RATINGS, study_rows.imported_ratings(sid)),
        (SURVEY_ANSWERS, study_rows.survey_answers(sid)),
        (CODING_CATEGORIES, study_rows.coding_categories(sid)),
        (CODING_CONCEPTS, study_rows.coding_concepts(sid)),
        (CODING_CODES, study_rows.coding_codes(sid)),
        (CODE_ASSIGNMENTS, study_rows.code_assignments(sid)),
        (FIXES, study_rows.fixes(sid)),
        (DESIGN_TASKS, study_rows.design_tasks(sid)),
        (DESIGN_ASSIGNMENTS, study_rows.design_assignments(sid)),
    )
    for spec, query in selections:
        rows[spec.name] = [_row(item, spec) for item in session.scalars(query)]

    token_of = {c.task_id: c.token_id for c in session.scalars(study_rows.api_calls(sid))}
    rows[API_CALLS.name] = []
    own = [c for c in API_CALLS.column_names if c not in ("generation_id", "token_id")]
    for generation in session.scalars(study_rows.api_generations(sid)):
        row = _row(generation, API_CALLS, own)
        row |= {"generation_id": generation.id, "token_id": token_of.get(generation.task_id)}
        rows[API_CALLS.name].append({name: row[name] for name in API_CALLS.column_names})
    return rows
