"""Import a survey exported from an online form (Google Forms, MS Forms) as CSV or XLSX.

One row per respondent, the question text as column header, multi-select answers joined with
``;``, blanks for no answer. Columns are matched to the study's questions by normalised text;
answers are matched exactly (after normalisation) or through the alias file, never by guessing.
Each imported respondent becomes a ``Participant`` with ``source="import"`` and one
``SurveyAnswer`` per answered question (``raw``: the cell as written). Importing again for the
same study replaces the previous import in one transaction; platform participants are untouched.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from codearena.errors import CodearenaError
from codearena.store import Store
from codearena.store.platform_models import Participant, SurveyAnswer, participant_id
from codearena.store.repo import find_study
from codearena.store.research_models import CodeAssignment
from codearena.survey.aliases import Aliases, check_targets, clean, match_answer, normalize
from codearena.survey.instruments import Instrument, Question
from codearena.survey.summary import study_instrument


class ImportFailure(CodearenaError, ValueError):
    """The file cannot be imported; nothing was changed. The message says what to fix."""


@dataclass
class Sheet:
    """A spreadsheet as text: its header and its rows, each with its row number in the file."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _read_csv(path: Path) -> Sheet:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise ImportFailure(f"{path} is not UTF-8 text: export or save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise ImportFailure(f"{path} is not a readable CSV file: {exc}") from exc
    if not records:
        raise ImportFailure(f"{path} is empty")
    return Sheet(records[0], [(n, row) for n, row in enumerate(records[1:], start=2)])


def _read_xlsx(path: Path, sheet: str | None) -> Sheet:
    try:
        import openpyxl
    except ModuleNotFoundError:
        raise ImportFailure("reading .xlsx files needs openpyxl: pip install openpyxl") from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for damaged files
        raise ImportFailure(f"{path} is not a readable .xlsx workbook ({exc})") from exc
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(repr(n) for n in workbook.sheetnames)
            raise ImportFailure(f"{path} has no sheet {sheet!r}; its sheets are {names}")
        records = [[_cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not records:
        raise ImportFailure(f"{path}: the sheet {worksheet.title!r} is empty")
    return Sheet(records[0], [(n, row) for n, row in enumerate(records[1:], start=2)])


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """The header and rows of a ``.csv`` or ``.xlsx`` file (``sheet``: an xlsx sheet's name)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFailure(f"no such file: {path}")
    if suffix == ".csv":
        if sheet is not None:
            raise ImportFailure("--sheet applies to .xlsx files only")
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    raise ImportFailure(f"{path}: use a .csv or .xlsx file (save an .xls or .ods file as .xlsx)")


@dataclass
class Columns:
    """Which column holds which question, the headers that hold none, the questions that got no
    column (with the unmatched header most like each, as a suggestion only), and the link column."""

    questions: list[tuple[int, int, Question]]  # (column index, question number, question)
    matched: dict[str, int] = field(default_factory=dict)
    mapped: dict[str, int] = field(default_factory=dict)  # matched through [columns]
    unmatched: list[str] = field(default_factory=list)
    missing: list[tuple[int, str]] = field(default_factory=list)  # (number, question text)
    suggestions: list[tuple[int, str, float]] = field(default_factory=list)
    link: int | None = None  # the link column's index


SUGGESTION_CUTOFF = 0.6
"""How alike (``difflib`` ratio of the normalised texts) a header must be to be suggested."""


def _suggest(missing: list[tuple[int, str]], headers: list[str]) -> list[tuple[int, str, float]]:
    """For each question without a column, the unmatched header most like its text."""
    found = []
    for number, text in missing:
        best: tuple[float, str] | None = None
        for header in headers:
            score = difflib.SequenceMatcher(None, normalize(text), normalize(header)).ratio()
            if score >= SUGGESTION_CUTOFF and (best is None or score > best[0]):
                best = (score, header)
        if best is not None:
            found.append((number, best[1], round(best[0], 2)))
    return found


def match_columns(sheet: Sheet, instrument: Instrument, aliases: Aliases | None = None) -> Columns:
    """Headers to questions: a ``[columns]`` entry of the alias file first, then the question's
    text (normalised); each question takes one column at most."""
    aliases = aliases or Aliases()
    count = len(instrument.questions)
    for header, wanted in aliases.columns.items():
        if wanted > count:
            raise ImportFailure(
                f"[columns] {header!r} = {wanted}: the study's survey has questions 1 to {count}"
            )
    by_text = {normalize(q.text): (n, q) for n, q in enumerate(instrument.questions, start=1)}
    link = normalize(aliases.link) if aliases.link else None
    columns = Columns([])
    taken: set[int] = set()
    for index, header in enumerate(sheet.headers):
        key = normalize(header)
        if link is not None and key == link and columns.link is None:
            columns.link = index
            continue
        mapped = aliases.columns.get(key)
        found = (mapped, instrument.questions[mapped - 1]) if mapped else by_text.get(key)
        if found is not None and found[0] not in taken:
            taken.add(found[0])
            columns.questions.append((index, found[0], found[1]))
            columns.matched[clean(header)] = found[0]
            if mapped:
                columns.mapped[clean(header)] = found[0]
        elif key:
            columns.unmatched.append(clean(header))
        elif any(index < len(row) and row[index].strip() for _, row in sheet.rows):
            columns.unmatched.append(f"(column {index + 1}, no header)")
    if link is not None and columns.link is None:
        raise ImportFailure(
            f"[link] column {aliases.link!r} is not a header of the file; "
            f"headers seen: {', '.join(clean(h) for h in sheet.headers if h.strip()) or '(none)'}"
        )
    columns.missing = [
        (n, q.text) for n, q in enumerate(instrument.questions, start=1) if n not in taken
    ]
    columns.suggestions = _suggest(columns.missing, columns.unmatched)
    return columns


@dataclass
class ImportReport:
    study_id: str
    respondents: int = 0
    matched_columns: dict[str, int] = field(default_factory=dict)
    mapped_columns: dict[str, int] = field(default_factory=dict)
    unmatched_columns: list[str] = field(default_factory=list)
    unmatched_questions: list[tuple[int, str]] = field(default_factory=list)
    suggestions: list[tuple[int, str, float]] = field(default_factory=list)
    unknown_answers: dict[int, dict[str, int]] = field(default_factory=dict)
    replaced: int = 0
    blank_rows: int = 0
    linked: int = 0
    unlinked: list[tuple[int, str]] = field(default_factory=list)  # (row, value)
    kept_platform_answers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "respondents": self.respondents,
            "matched_columns": dict(self.matched_columns),
            "mapped_columns": dict(self.mapped_columns),
            "unmatched_columns": list(self.unmatched_columns),
            "unmatched_questions": [{"number": n, "text": t} for n, t in self.unmatched_questions],
            "suggestions": [
                {"question": n, "header": h, "similarity": score}
                for n, h, score in self.suggestions
            ],
            "unknown_answers": {str(n): dict(c) for n, c in self.unknown_answers.items()},
            "replaced": self.replaced,
            "blank_rows": self.blank_rows,
            "linked": self.linked,
            "unlinked": [{"row": r, "value": v} for r, v in self.unlinked],
            "kept_platform_answers": self.kept_platform_answers,
        }


def _answer_id(study_id: str, row: int, question_id: str, raw: str) -> str:
    """Stable while the row, question and text stay the same, so open coding survives re-import."""
    key = "\x1f".join((study_id, str(row), question_id, raw))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _platform_index(store: Store, study_id: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The study's platform participants by id, e-mail and pseudonym (normalised; a key two
    participants share is left out), and the questions each answered on the platform."""
    keys: dict[str, set[str]] = {}
    answered: dict[str, set[str]] = {}
    with store.session() as session:
        people = session.scalars(
            select(Participant).where(
                Participant.study_id == study_id, Participant.source != "import"
            )
        ).all()
        for person in people:
            for key in {person.id, person.email or "", person.pseudonym}:
                if normalize(key):
                    keys.setdefault(normalize(key), set()).add(person.id)
        for participant, question in session.execute(
            select(SurveyAnswer.participant_id, SurveyAnswer.question_id).where(
                SurveyAnswer.study_id == study_id, SurveyAnswer.raw.is_(None)
            )
        ):
            answered.setdefault(participant, set()).add(question)
    return {k: next(iter(v)) for k, v in keys.items() if len(v) == 1}, answered


def import_survey(
    store: Store,
    study: str,
    path: Path,
    *,
    sheet: str | None = None,
    aliases: Aliases | None = None,
) -> ImportReport:
    """Import ``path`` into ``study`` (an id or a unique name), replacing its previous import.

    A respondent whose link cell (``[link] column``) names a platform participant of the study
    (id, e-mail or pseudonym) answers as that participant: a question the participant already
    answered on the platform keeps the platform's answer. Every other respondent becomes an
    imported participant. Raises ``StudyNotFound``, ``ImportFailure`` or ``AliasError``; on any
    error nothing changes.
    """
    found = find_study(store, study)
    instrument = study_instrument(found)
    aliases = aliases or Aliases()
    check_targets(aliases, instrument.questions)
    data = read_sheet(path, sheet)
    columns = match_columns(data, instrument, aliases)
    if not columns.questions:
        raise ImportFailure(
            f"{path}: no column header matches a question of the study's survey "
            f"({instrument.name}); headers seen: {', '.join(columns.unmatched) or '(none)'}"
        )
    report = ImportReport(
        found.id,
        matched_columns=columns.matched,
        mapped_columns=columns.mapped,
        unmatched_columns=columns.unmatched,
        unmatched_questions=columns.missing,
        suggestions=columns.suggestions,
    )
    platform, answered = _platform_index(store, found.id) if columns.link is not None else ({}, {})
    unknown: dict[int, Counter[str]] = {}
    spelled: dict[str, str] = {}
    now = datetime.now(UTC)
    participants: list[Participant] = []
    answers: list[SurveyAnswer] = []
    linked_rows: dict[str, int] = {}
    for row_number, row in data.rows:
        given = []
        for index, number, question in columns.questions:
            cell = row[index] if index < len(row) else ""
            matched = match_answer(question, cell, aliases)
            if matched is not None:
                given.append((number, question, cell, matched))
        if not given:
            report.blank_rows += 1 if any(c.strip() for c in row) else 0
            continue
        link = row[columns.link] if columns.link is not None and columns.link < len(row) else ""
        owner = platform.get(normalize(link)) if normalize(link) else None
        if owner is not None:
            if owner in linked_rows:
                raise ImportFailure(
                    f"{path}: rows {linked_rows[owner]} and {row_number} both name participant "
                    f"{clean(link)!r} in the link column: keep one of them"
                )
            linked_rows[owner] = row_number
            report.linked += 1
        else:
            if normalize(link):
                report.unlinked.append((row_number, clean(link)))
            person = Participant(
                id=participant_id(),
                study_id=found.id,
                pseudonym=f"import-row-{row_number}",
                source="import",
                consented_at=now,
                survey_completed_at=now,
                created_at=now + timedelta(microseconds=row_number),
            )
            participants.append(person)
            owner = person.id
        for number, question, cell, matched in given:
            if question.id in answered.get(owner, set()):
                report.kept_platform_answers += 1
                continue
            for text in matched.unknown:
                key = normalize(text)
                spelled.setdefault(f"{number}\x1f{key}", text)
                unknown.setdefault(number, Counter())[spelled[f"{number}\x1f{key}"]] += 1
            answers.append(
                SurveyAnswer(
                    id=_answer_id(found.id, row_number, question.id, cell),
                    study_id=found.id,
                    participant_id=owner,
                    question_id=question.id,
                    value=matched.value,
                    raw=cell,
                    updated_at=now,
                )
            )
    if not participants and not report.linked:
        raise ImportFailure(f"{path}: no row has an answer to a matched question")
    report.respondents = len(participants) + report.linked
    report.unknown_answers = {
        n: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        for n, c in sorted(unknown.items())
    }
    report.replaced = _replace(store, found.id, participants, answers)
    return report


def _replace(
    store: Store, study_id: str, participants: list[Participant], answers: list[SurveyAnswer]
) -> int:
    """Delete the study's previous import (its imported participants, and the imported answers
    of platform participants it linked) and add this one, in one transaction; returns how many
    respondents the previous import had."""
    with store.session() as session:
        previous = list(
            session.scalars(
                select(Participant.id).where(
                    Participant.study_id == study_id, Participant.source == "import"
                )
            )
        )
        linked = list(
            session.execute(
                select(SurveyAnswer.id, SurveyAnswer.participant_id)
                .join(Participant, Participant.id == SurveyAnswer.participant_id)
                .where(
                    SurveyAnswer.study_id == study_id,
                    SurveyAnswer.raw.is_not(None),
                    Participant.source != "import",
                )
            )
        )
        old_answers: list[str] = [answer for answer, _ in linked]
        for chunk in _chunks(old_answers):
            session.execute(delete(SurveyAnswer).where(SurveyAnswer.id.in_(chunk)))
        for chunk in _chunks(previous):
            old_answers += session.scalars(
                select(SurveyAnswer.id).where(SurveyAnswer.participant_id.in_(chunk))
            )
            session.execute(delete(SurveyAnswer).where(SurveyAnswer.participant_id.in_(chunk)))
            session.execute(delete(Participant).where(Participant.id.in_(chunk)))
        session.add_all(participants)
        session.flush()
        session.add_all(answers)
        session.flush()
        gone = sorted(set(old_answers) - {a.id for a in answers})
        for chunk in _chunks(gone):
            session.execute(
                delete(CodeAssignment).where(
                    CodeAssignment.answer_kind == "survey", CodeAssignment.answer_id.in_(chunk)
                )
            )
    return len(previous) + len({person for _, person in linked})
