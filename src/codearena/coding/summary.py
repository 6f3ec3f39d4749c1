"""Reading the codebook: counts per code, concept and category, answers grouped by category,
and the coded-answer rows the exports use.

Counts are of answers: a code counts the answers tagged with it; a concept the distinct answers
tagged with any of its codes; a category the distinct answers of any of its concepts' codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from codearena.coding.answers import FreeAnswer, load_answers, load_study, study_questions
from codearena.store import Store, study_rows

AnswerKey = tuple[str, str]


@dataclass
class CodeCount:
    id: str
    question: str
    name: str
    concept_id: str | None
    count: int


@dataclass
class ConceptCount:
    id: str
    name: str
    category_id: str | None
    count: int
    codes: list[CodeCount] = field(default_factory=list)


@dataclass
class CategoryCount:
    id: str
    name: str
    count: int
    concepts: list[ConceptCount] = field(default_factory=list)


@dataclass
class Codebook:
    """The codebook as a tree with counts; ``None`` ids group what is not grouped yet."""

    categories: list[CategoryCount]
    ungrouped_concepts: list[ConceptCount]  # concepts without a category
    ungrouped_codes: list[CodeCount]  # codes without a concept
    codes: list[CodeCount]  # every code, by question then name
    answers: int  # free-text answers of the study
    coded: int  # answers carrying at least one code


@dataclass
class CategoryGroup:
    name: str | None  # None: answers whose codes have no category (yet)
    answers: list[FreeAnswer]


def _sort_key(name: str) -> str:
    return name.casefold()


def _tree(session: Session, study_id: str, answers: list[FreeAnswer]) -> Codebook:
    """The codebook of the rows ``store.study_rows`` selects (the ones the exports write)."""
    study = load_study(session, study_id)
    order = {q.id: n for n, q in enumerate(study_questions(study))}
    tagged: dict[str, set[AnswerKey]] = {}
    for assignment in session.scalars(study_rows.code_assignments(study_id)):
        key = (assignment.answer_kind, assignment.answer_id)
        tagged.setdefault(assignment.code_id, set()).add(key)
    codes = [
        CodeCount(c.id, c.question, c.name, c.concept_id, len(tagged.get(c.id, ())))
        for c in session.scalars(study_rows.coding_codes(study_id))
    ]
    codes.sort(key=lambda c: (order.get(c.question, len(order)), _sort_key(c.name)))
    concepts: list[ConceptCount] = []
    concept_answers: dict[str, set[AnswerKey]] = {}
    for row in session.scalars(study_rows.coding_concepts(study_id)):
        members = [c for c in codes if c.concept_id == row.id]
        reached = set().union(*(tagged.get(c.id, set()) for c in members))
        concept_answers[row.id] = reached
        concepts.append(ConceptCount(row.id, row.name, row.category_id, len(reached), members))
    concepts.sort(key=lambda c: _sort_key(c.name))
    categories: list[CategoryCount] = []
    for group in session.scalars(study_rows.coding_categories(study_id)):
        inside = [c for c in concepts if c.category_id == group.id]
        reached = set().union(*(concept_answers[c.id] for c in inside))
        categories.append(CategoryCount(group.id, group.name, len(reached), inside))
    categories.sort(key=lambda c: _sort_key(c.name))
    return Codebook(
        categories=categories,
        ungrouped_concepts=[c for c in concepts if c.category_id is None],
        ungrouped_codes=[c for c in codes if c.concept_id is None],
        codes=codes,
        answers=len(answers),
        coded=sum(1 for a in answers if a.codes),
    )


def codebook(store: Store, study_id: str) -> Codebook:
    """Categories > concepts > codes with their answer counts."""
    with store.session() as session:
        study = load_study(session, study_id)
        return _tree(session, study_id, load_answers(session, study))


def group_by_category(answers: list[FreeAnswer]) -> list[CategoryGroup]:
    """Coded answers under each category they reach (an answer may sit under several);
    coded answers reaching no category come last under ``None``."""
    groups: dict[str, list[FreeAnswer]] = {}
    loose: list[FreeAnswer] = []
    for answer in answers:
        names = sorted({c.category for c in answer.codes if c.category}, key=_sort_key)
        for name in names:
            groups.setdefault(name, []).append(answer)
        if answer.codes and not names:
            loose.append(answer)
    result = [CategoryGroup(n, groups[n]) for n in sorted(groups, key=_sort_key)]
    if loose:
        result.append(CategoryGroup(None, loose))
    return result


def answers_by_category(store: Store, study_id: str) -> list[CategoryGroup]:
    with store.session() as session:
        return group_by_category(load_answers(session, load_study(session, study_id)))


def coded_answers(
    store: Store, study_id: str, *, include_uncoded: bool = False
) -> list[dict[str, str | None]]:
    """One row per (answer, code): answer_kind, answer_id, question, participant_id, text,
    code, concept, category. With ``include_uncoded``, an uncoded answer gives one row whose
    code, concept and category are ``None``. Only anonymous participant ids, never pseudonyms."""
    with store.session() as session:
        answers = load_answers(session, load_study(session, study_id))
    rows: list[dict[str, str | None]] = []
    for answer in answers:
        base: dict[str, str | None] = {
            "answer_kind": answer.kind,
            "answer_id": answer.id,
            "question": answer.question,
            "participant_id": answer.participant_id,
            "text": answer.text,
        }
        for code in answer.codes:
            rows.append(
                {**base, "code": code.name, "concept": code.concept, "category": code.category}
            )
        if include_uncoded and not answer.codes:
            rows.append({**base, "code": None, "concept": None, "category": None})
    return rows
