"""The codebook as CSV: ``question,code,concept,category`` (header required).

Import rules: ``question`` is an id of the study's instrument or ``comments``; ``code`` is
required; ``concept`` and ``category`` may be blank. The file is authoritative for what it names:
each code named gets the row's concept (none when blank), and each concept named gets the
category its rows give (none when they leave it blank). Codes, concepts and categories the file
does not name are left alone. Every bad row is reported with its line number, and then nothing
is imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from codearena.coding.answers import load_study, study_questions
from codearena.coding.edits import MAX_NAME, transaction
from codearena.coding.errors import CodebookError
from codearena.coding.summary import codebook
from codearena.store import Store, study_rows
from codearena.store.research_models import CodingCategory, CodingCode, CodingConcept

COLUMNS = ("question", "code", "concept", "category")
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class ImportReport:
    rows: int
    codes_created: int
    concepts_created: int
    categories_created: int
    codes_updated: int


def export_codebook(store: Store, study_id: str) -> str:
    """Every code of the study as ``question,code,concept,category`` rows."""
    book = codebook(store, study_id)
    concepts = {c.id: c for c in book.ungrouped_concepts}
    categories = {}
    for category in book.categories:
        for concept in category.concepts:
            concepts[concept.id] = concept
            categories[concept.id] = category.name
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for code in book.codes:
        parent = concepts.get(code.concept_id or "")
        writer.writerow(
            [
                code.question,
                code.name,
                parent.name if parent else "",
                categories.get(parent.id, "") if parent else "",
            ]
        )
    return out.getvalue()


def _name(value: str | None) -> str:
    return " ".join((value or "").split())


@dataclass(frozen=True)
class _Row:
    line: int
    question: str
    code: str
    concept: str
    category: str


def parse_codebook(data: str | bytes, questions: list[str]) -> list[_Row]:
    """The rows of a codebook CSV; raises CodebookError listing every problem by line."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CodebookError(["the file is not UTF-8 text"]) from None
    data = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CodebookError(
            ["line 1: the file is empty; expected the header " + ",".join(COLUMNS)]
        ) from None
    except csv.Error as exc:
        raise CodebookError([f"line 1: {exc}"]) from None
    missing = [c for c in COLUMNS if c not in header]
    extra = [h for h in header if h not in COLUMNS]
    if missing or extra:
        what = "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + [f"unknown column {e!r}" for e in extra]
        )
        raise CodebookError([f"line 1: the header must be {','.join(COLUMNS)} ({what})"])
    where = {c: header.index(c) for c in COLUMNS}
    rows: list[_Row] = []
    problems: list[str] = []
    code_concept: dict[tuple[str, str], tuple[str, int]] = {}
    concept_category: dict[str, tuple[str, int]] = {}
    while len(problems) < MAX_PROBLEMS:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(f"line {line}: expected {len(header)} fields, got {len(cells)}")
            continue
        row = _Row(line, *(_name(cells[where[c]]) for c in COLUMNS))
        problem = _check(row, questions)
        if problem is None:
            key = (row.question, row.code.casefold())
            seen = code_concept.setdefault(key, (row.concept, line))
            if seen[0].casefold() != row.concept.casefold():
                problem = f"code {row.code!r} of {row.question} is put under another concept on line {seen[1]}"
        if problem is None and row.concept and row.category:
            seen = concept_category.setdefault(row.concept.casefold(), (row.category, line))
            if seen[0].casefold() != row.category.casefold():
                problem = f"concept {row.concept!r} is put under another category on line {seen[1]}"
        if problem:
            problems.append(f"line {line}: {problem}")
        else:
            rows.append(row)
    if problems:
        raise CodebookError(problems)
    return rows


def _check(row: _Row, questions: list[str]) -> str | None:
    if row.question not in questions:
        return f"unknown question {row.question!r}; use one of {', '.join(questions)}"
    if not row.code:
        return "the code is blank"
    if row.category and not row.concept:
        return "a category needs a concept"
    too_long = [c for c in ("code", "concept", "category") if len(getattr(row, c)) > MAX_NAME]
    if too_long:
        return f"the {too_long[0]} has more than {MAX_NAME} characters"
    return None


def import_codebook(store: Store, study_id: str, data: str | bytes) -> ImportReport:
    """Create and update codes, concepts and categories from a codebook CSV, all or nothing."""
    with store.session() as session:
        questions = [q.id for q in study_questions(load_study(session, study_id))]
    rows = parse_codebook(data, questions)
    created = {"code": 0, "concept": 0, "category": 0}
    updated = 0
    with transaction(store) as session:
        categories = {
            c.name.casefold(): c for c in session.scalars(study_rows.coding_categories(study_id))
        }
        concepts = {
            c.name.casefold(): c for c in session.scalars(study_rows.coding_concepts(study_id))
        }
        codes = {
            (c.question, c.name.casefold()): c
            for c in session.scalars(study_rows.coding_codes(study_id))
        }
        category_of: dict[str, str] = {}
        for row in rows:
            if row.concept:
                category_of.setdefault(row.concept.casefold(), "")
                if row.category:
                    category_of[row.concept.casefold()] = row.category
        for concept_key, category_name in category_of.items():
            name = next(r.concept for r in rows if r.concept.casefold() == concept_key)
            concept = concepts.get(concept_key)
            if concept is None:
                concept = concepts[concept_key] = CodingConcept(study_id=study_id, name=name)
                session.add(concept)
                created["concept"] += 1
            category = None
            if category_name:
                category = categories.get(category_name.casefold())
                if category is None:
                    category = CodingCategory(study_id=study_id, name=category_name)
                    categories[category_name.casefold()] = category
                    session.add(category)
                    created["category"] += 1
                session.flush()
            concept.category_id = category.id if category else None
        session.flush()
        for row in rows:
            key = (row.question, row.code.casefold())
            code = codes.get(key)
            concept_id = concepts[row.concept.casefold()].id if row.concept else None
            if code is None:
                code = codes[key] = CodingCode(
                    study_id=study_id, question=row.question, name=row.code
                )
                session.add(code)
                created["code"] += 1
            elif code.concept_id != concept_id:
                updated += 1
            code.concept_id = concept_id
    return ImportReport(
        len(rows), created["code"], created["concept"], created["category"], updated
    )
