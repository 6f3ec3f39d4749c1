"""``import_export``: a JSONL (or Parquet) export recreated in a database, in one transaction.

Every row keeps its id; the pseudonymised participant ids become the participants' ids (and
their pseudonyms, since the export has none). Exporting the imported study again gives the same
files, which is what makes the study's report reproducible from an export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from codearena.errors import CodearenaError
from codearena.exports.collect import STUDY_EXECUTION_COLUMNS, TASK_COLUMNS, Row, Rows
from codearena.exports.export import EXPORT_VERSION, ExportError, Manifest
from codearena.exports.formats import FormatError, read_table
from codearena.exports.tables import ADDED_COLUMNS, ADDED_TABLES, TABLES, without_added
from codearena.store.db import Store
from codearena.store.models import (
    CodeMetrics,
    Execution,
    ExecutionArtifact,
    Finding,
    Generation,
    Task,
)
from codearena.store.platform_models import (
    DesignAssignment,
    DesignTask,
    Fix,
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
    ImportedRating,
    ImportedVote,
)
from codearena.store.vocabulary import vote_value


class ImportFailure(CodearenaError):
    """The export cannot be imported; nothing was written (the CLI exits 2)."""


class StudyExists(ImportFailure):
    """The study is already in this database."""


def _check_manifest(manifest: Manifest, fmt: str | None) -> str:
    if manifest.export_version != EXPORT_VERSION:
        raise ImportFailure(
            f"export layout {manifest.export_version} is not the one this codearena reads "
            f"({EXPORT_VERSION}): import it with codearena {manifest.codearena_version}"
        )
    if fmt is not None and fmt != manifest.format:
        raise ImportFailure(f"the manifest says this is a {manifest.format} export, not {fmt}")
    for spec in TABLES:
        try:
            info = manifest.table(spec.name)
        except KeyError:
            if spec.name in ADDED_TABLES:
                continue
            raise ImportFailure(f"the export has no {spec.name} table") from None
        columns = [(c["name"], c["type"]) for c in info.columns]
        if columns not in (list(spec.columns), list(without_added(spec).columns)):
            raise ImportFailure(
                f"the {spec.name} table's columns differ from this codearena's "
                f"(schema revision {manifest.schema_revision}): import it with codearena "
                f"{manifest.codearena_version}"
            )
    return manifest.format


def read_export(directory: Path | str, fmt: str | None = None) -> tuple[Manifest, Rows]:
    """The manifest and every table's rows, checked against the manifest."""
    directory = Path(directory)
    try:
        manifest = Manifest.read(directory)
    except ExportError as exc:
        raise ImportFailure(str(exc)) from exc
    fmt = _check_manifest(manifest, fmt)
    rows: Rows = {}
    for spec in TABLES:
        if spec.name in ADDED_TABLES and spec.name not in {t.name for t in manifest.tables}:
            rows[spec.name] = []
            continue
        info = manifest.table(spec.name)
        path = directory / info.file
        if not path.is_file():
            raise ImportFailure(f"{path} is missing")
        written = [c["name"] for c in info.columns]
        older = without_added(spec)
        try:
            if written == older.column_names and older.columns != spec.columns:
                defaults = dict(ADDED_COLUMNS[spec.name])
                rows[spec.name] = [row | defaults for row in read_table(path, older, fmt)]
            else:
                rows[spec.name] = read_table(path, spec, fmt)
        except FormatError as exc:
            raise ImportFailure(str(exc)) from exc
        if len(rows[spec.name]) != info.rows:
            raise ImportFailure(
                f"{info.file} has {len(rows[spec.name])} rows, the manifest says {info.rows}"
            )
    studies = rows["study"]
    if len(studies) != 1 or studies[0]["id"] != manifest.study_id:
        raise ImportFailure("the study file must hold exactly the manifest's study")
    return manifest, rows


def _tasks(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """The tasks file split into the ``tasks`` and ``study_tasks`` rows."""
    tasks: dict[str, Row] = {}
    study_tasks = []
    for row in rows:
        study_tasks.append({k: v for k, v in row.items() if k not in TASK_COLUMNS})
        if row["task_id"] is None:
            continue
        task = {"id": row["task_id"]} | {a: row[c] for c, a in TASK_COLUMNS.items()}
        if tasks.setdefault(task["id"], task) != task:
            raise ImportFailure(f"task {task['id']} appears twice with different values")
    return list(tasks.values()), study_tasks


def _insert(session: Session, model: Any, rows: list[Row]) -> None:
    if not rows:
        return
    try:
        session.execute(insert(model), rows)
    except IntegrityError as exc:
        raise ImportFailure(
            f"cannot insert the {model.__tablename__} rows: {exc.orig}. "
            "Import into a database that does not hold any of this study's rows."
        ) from exc


def import_rows(session: Session, rows: Rows) -> str:
    """Insert every table of an export (parents first); returns the study id."""
    study = rows["study"][0]
    study_id: str = study["id"]
    if session.get(Study, study_id) is not None:
        raise StudyExists(f"study {study_id} already exists in this database: nothing imported")
    _insert(session, Study, [study | {"owner_id": None}])
    participants = [
        p | {"study_id": study_id, "pseudonym": p["id"], "email": None}
        for p in rows["participants"]
    ]
    _insert(session, Participant, participants)
    tasks, study_tasks = _tasks(rows["tasks"])
    existing = set(session.scalars(select(Task.id).where(Task.id.in_([t["id"] for t in tasks]))))
    if existing:
        raise ImportFailure(f"{len(existing)} of the study's tasks already exist in this database")
    _insert(session, Task, tasks)
    _insert(session, StudyTask, [st | {"study_id": study_id} for st in study_tasks])
    _insert(session, Generation, rows["generations"])
    executions = rows["executions"]
    _insert(
        session,
        Execution,
        [{k: v for k, v in e.items() if k not in STUDY_EXECUTION_COLUMNS} for e in executions],
    )
    links = [
        {"execution_id": e["id"]} | {k: e[k] for k in STUDY_EXECUTION_COLUMNS}
        for e in executions
        if e["study_task_id"] is not None
    ]
    _insert(session, StudyExecution, links)
    # an export written before migration 0005 spells a both-bad battle "bothbad"
    spelled = {
        "votes": [v | {"choice": vote_value(v["choice"]) or v["choice"]} for v in rows["votes"]],
        "imported_votes": [
            v | {"winner": vote_value(v["winner"]) or v["winner"]} for v in rows["imported_votes"]
        ],
    }
    for model, table in (
        (ExecutionArtifact, "execution_artifacts"),
        (CodeMetrics, "code_metrics"),
        (Finding, "findings"),
        (Rating, "ratings"),
        (Vote, "votes"),
        (ImportedVote, "imported_votes"),
        (ImportedRating, "imported_ratings"),
        (SurveyAnswer, "survey_answers"),
        (CodingCategory, "coding_categories"),
        (CodingConcept, "coding_concepts"),
        (CodingCode, "coding_codes"),
        (CodeAssignment, "code_assignments"),
        (Fix, "fixes"),
        (DesignTask, "design_tasks"),
        (DesignAssignment, "design_assignments"),
    ):
        _insert(session, model, spelled.get(table, rows[table]))
    return study_id


def import_export(store: Store, directory: Path | str, fmt: str | None = None) -> str:
    """Recreate an exported study in ``store`` in one transaction; returns its id.

    ``fmt`` (``jsonl`` or ``parquet``) defaults to the manifest's. Raises ``StudyExists`` when
    the study is already there and ``ImportFailure`` for anything else; either way nothing is
    written.
    """
    _, rows = read_export(directory, fmt)
    with store.session() as session:
        return import_rows(session, rows)
