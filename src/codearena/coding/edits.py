"""Changing the codebook: tagging answers, and creating, renaming, merging, grouping and deleting
codes (per question), concepts and categories (per study).

Names are trimmed, inner whitespace collapsed, and compared case-insensitively: tagging an answer
with "speed" reuses the code "Speed". Every function runs in one transaction and changes nothing
when it raises a :class:`CodingError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from codearena.coding.answers import CodeRef, find_answer, load_study, study_questions
from codearena.coding.errors import CodingConflict, CodingError, CodingNotFound
from codearena.store import Store, study_rows
from codearena.store.research_models import (
    CodeAssignment,
    CodingCategory,
    CodingCode,
    CodingConcept,
)

MAX_NAME = 200
Row = TypeVar("Row", CodingCode, CodingConcept, CodingCategory)
_LABEL: dict[type, str] = {CodingCode: "code", CodingConcept: "concept", CodingCategory: "category"}


def clean_name(raw: str | None, what: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise CodingError(f"give the {what} a name")
    if len(name) > MAX_NAME:
        raise CodingError(f"a {what} name has at most {MAX_NAME} characters")
    return name


def _get(session: Session, model: type[Row], study_id: str, item_id: str) -> Row:
    row = session.get(model, item_id)
    if row is None or row.study_id != study_id:
        raise CodingNotFound(f"no such {_LABEL[model]} in this study")
    return row


def _named(
    session: Session, model: type[Row], study_id: str, name: str, question: str | None = None
) -> Row | None:
    query = select(model).where(model.study_id == study_id)
    if model is CodingCode:
        query = query.where(CodingCode.question == question)
    wanted = name.casefold()
    return next((r for r in session.scalars(query) if r.name.casefold() == wanted), None)


def _question(session: Session, study_id: str, question: str) -> str:
    known = [q.id for q in study_questions(load_study(session, study_id))]
    if question not in known:
        raise CodingError(f"unknown question {question!r}; use one of {', '.join(known)}")
    return question


def _get_or_create(
    session: Session, model: type[Row], study_id: str, name: str, question: str | None = None
) -> Row:
    name = clean_name(name, _LABEL[model])
    row = _named(session, model, study_id, name, question)
    if row is None:
        row = model(study_id=study_id, name=name)
        if isinstance(row, CodingCode):
            row.question = question or ""
        session.add(row)
        session.flush()
    return row


@contextmanager
def transaction(store: Store) -> Iterator[Session]:
    """One transaction; a unique-constraint race (two tabs naming the same code) is a 409."""
    try:
        with store.session() as session:
            yield session
    except IntegrityError as exc:
        raise CodingConflict("the codebook changed meanwhile: reload and try again") from exc


# ----------------------------------------------------------------------------- answers


def tag_answer(
    store: Store, study_id: str, kind: str, answer_id: str, names: Sequence[str]
) -> list[CodeRef]:
    """Add codes to an answer (creating codes of its question by name); returns its codes."""
    wanted = [clean_name(n, "code") for n in names if n.strip()]
    if not wanted:
        raise CodingError("give at least one code")
    with transaction(store) as session:
        answer = find_answer(session, study_id, kind, answer_id)
        for name in wanted:
            code = _get_or_create(session, CodingCode, study_id, name, answer.question)
            exists = session.scalar(
                select(CodeAssignment.id).where(
                    CodeAssignment.code_id == code.id,
                    CodeAssignment.answer_kind == kind,
                    CodeAssignment.answer_id == answer_id,
                )
            )
            if exists is None:
                session.add(CodeAssignment(code_id=code.id, answer_kind=kind, answer_id=answer_id))
                session.flush()
    return answer_codes(store, study_id, kind, answer_id)


def untag_answer(store: Store, study_id: str, kind: str, answer_id: str, code_id: str) -> None:
    """Remove a code from an answer (a no-op when the answer does not carry it)."""
    with transaction(store) as session:
        find_answer(session, study_id, kind, answer_id)
        _get(session, CodingCode, study_id, code_id)
        session.execute(
            delete(CodeAssignment).where(
                CodeAssignment.code_id == code_id,
                CodeAssignment.answer_kind == kind,
                CodeAssignment.answer_id == answer_id,
            )
        )


def answer_codes(store: Store, study_id: str, kind: str, answer_id: str) -> list[CodeRef]:
    with store.session() as session:
        find_answer(session, study_id, kind, answer_id)
        # the study's codes (as ``store.study_rows`` selects them) carried by this answer
        assigned = select(CodeAssignment.code_id).where(
            CodeAssignment.answer_kind == kind, CodeAssignment.answer_id == answer_id
        )
        codes = study_rows.coding_codes(study_id).where(CodingCode.id.in_(assigned)).subquery()
        rows = session.execute(
            select(CodingCode, CodingConcept, CodingCategory)
            .join(codes, codes.c.id == CodingCode.id)
            .outerjoin(CodingConcept, CodingConcept.id == CodingCode.concept_id)
            .outerjoin(CodingCategory, CodingCategory.id == CodingConcept.category_id)
        ).all()
    refs = [
        CodeRef(code.id, code.name, concept.name if concept else None, cat.name if cat else None)
        for code, concept, cat in rows
    ]
    return sorted(refs, key=lambda r: r.name.casefold())


# ----------------------------------------------------------------------------- create / rename


def create_code(
    store: Store, study_id: str, question: str, name: str, concept: str | None = None
) -> CodingCode:
    name = clean_name(name, "code")
    with transaction(store) as session:
        question = _question(session, study_id, question)
        if _named(session, CodingCode, study_id, name, question) is not None:
            raise CodingConflict(f"the code {name!r} already exists for {question}")
        code = CodingCode(study_id=study_id, question=question, name=name)
        session.add(code)
        if concept and concept.strip():
            code.concept_id = _get_or_create(session, CodingConcept, study_id, concept).id
    return code


def create_concept(
    store: Store, study_id: str, name: str, category: str | None = None
) -> CodingConcept:
    name = clean_name(name, "concept")
    with transaction(store) as session:
        load_study(session, study_id)
        if _named(session, CodingConcept, study_id, name) is not None:
            raise CodingConflict(f"the concept {name!r} already exists")
        concept = CodingConcept(study_id=study_id, name=name)
        session.add(concept)
        if category and category.strip():
            concept.category_id = _get_or_create(session, CodingCategory, study_id, category).id
    return concept


def create_category(store: Store, study_id: str, name: str) -> CodingCategory:
    name = clean_name(name, "category")
    with transaction(store) as session:
        load_study(session, study_id)
        if _named(session, CodingCategory, study_id, name) is not None:
            raise CodingConflict(f"the category {name!r} already exists")
        category = CodingCategory(study_id=study_id, name=name)
        session.add(category)
    return category


def rename(store: Store, model: type[Row], study_id: str, item_id: str, name: str) -> Row:
    """Rename a code, concept or category; a name already taken is an error (merge instead)."""
    label = _LABEL[model]
    name = clean_name(name, label)
    with transaction(store) as session:
        row = _get(session, model, study_id, item_id)
        question = row.question if isinstance(row, CodingCode) else None
        other = _named(session, model, study_id, name, question)
        if other is not None and other.id != row.id:
            where = f" for {question}" if question else ""
            raise CodingConflict(
                f"a {label} named {other.name!r} already exists{where}: merge instead"
            )
        row.name = name
    return row


# ----------------------------------------------------------------------------- merge


def merge(store: Store, model: type[Row], study_id: str, source_id: str, target_id: str) -> Row:
    """Merge ``source`` into ``target`` and delete ``source``.

    Codes: the source's assignments move to the target (an answer tagged with both keeps one).
    Concepts: the source's codes move. Categories: the source's concepts move. The target keeps
    its own concept or category, or takes the source's when it has none.
    """
    label = _LABEL[model]
    with transaction(store) as session:
        source = _get(session, model, study_id, source_id)
        target = _get(session, model, study_id, target_id)
        if source.id == target.id:
            raise CodingError(f"choose another {label} to merge into")
        if isinstance(source, CodingCode) and isinstance(target, CodingCode):
            _merge_codes(session, source, target)
        elif isinstance(source, CodingConcept) and isinstance(target, CodingConcept):
            session.execute(
                update(CodingCode)
                .where(CodingCode.concept_id == source.id)
                .values(concept_id=target.id)
            )
            target.category_id = target.category_id or source.category_id
        elif isinstance(source, CodingCategory) and isinstance(target, CodingCategory):
            session.execute(
                update(CodingConcept)
                .where(CodingConcept.category_id == source.id)
                .values(category_id=target.id)
            )
        session.flush()
        session.delete(source)
    return target


def _merge_codes(session: Session, source: CodingCode, target: CodingCode) -> None:
    if source.question != target.question:
        raise CodingError(
            f"codes of different questions cannot be merged ({source.question} and "
            f"{target.question}): a code belongs to one question"
        )
    tagged = {
        (kind, answer_id)
        for kind, answer_id in session.execute(
            select(CodeAssignment.answer_kind, CodeAssignment.answer_id).where(
                CodeAssignment.code_id == target.id
            )
        )
    }
    moving = list(
        session.scalars(select(CodeAssignment).where(CodeAssignment.code_id == source.id))
    )
    for assignment in moving:
        if (assignment.answer_kind, assignment.answer_id) in tagged:
            session.delete(assignment)
    session.flush()
    for assignment in moving:
        if (assignment.answer_kind, assignment.answer_id) not in tagged:
            assignment.code_id = target.id
    target.concept_id = target.concept_id or source.concept_id
    session.flush()


# ----------------------------------------------------------------------------- grouping


def set_code_concept(store: Store, study_id: str, code_id: str, concept: str | None) -> CodingCode:
    """Put a code under a concept (created by name if new); a blank name ungroups it."""
    with transaction(store) as session:
        code = _get(session, CodingCode, study_id, code_id)
        code.concept_id = (
            _get_or_create(session, CodingConcept, study_id, concept).id
            if concept and concept.strip()
            else None
        )
    return code


def set_concept_category(
    store: Store, study_id: str, concept_id: str, category: str | None
) -> CodingConcept:
    """Put a concept under a category (created by name if new); a blank name ungroups it."""
    with transaction(store) as session:
        concept = _get(session, CodingConcept, study_id, concept_id)
        concept.category_id = (
            _get_or_create(session, CodingCategory, study_id, category).id
            if category and category.strip()
            else None
        )
    return concept


def remove(store: Store, model: type[Row], study_id: str, item_id: str) -> None:
    """Delete a code (and its assignments), or a concept or category (its members ungrouped)."""
    with transaction(store) as session:
        row = _get(session, model, study_id, item_id)
        if isinstance(row, CodingCode):
            session.execute(delete(CodeAssignment).where(CodeAssignment.code_id == row.id))
        elif isinstance(row, CodingConcept):
            session.execute(
                update(CodingCode).where(CodingCode.concept_id == row.id).values(concept_id=None)
            )
        else:
            session.execute(
                update(CodingConcept)
                .where(CodingConcept.category_id == row.id)
                .values(category_id=None)
            )
        session.flush()
        session.delete(row)
