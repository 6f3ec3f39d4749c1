"""The coding services on SQLite (and PostgreSQL for merges): tagging, grouping, counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from codearena import coding
from codearena.coding import (
    AnswerFilter,
    CodingCategory,
    CodingCode,
    CodingConcept,
    CodingConflict,
    CodingError,
    CodingNotFound,
)
from codearena.store import Store
from codearena.store.research_models import CodeAssignment
from tests.coding.seed import add_answer, add_comment, make_study


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'coding.db'}")
    yield store
    store.dispose()


@pytest.fixture
def any_store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


@dataclass
class Example:
    """5 answers, 4 codes, 2 concepts, 1 category (counts checked by hand in the tests)."""

    study: str
    a1: str
    a2: str
    a3: str
    a4: str
    c1: str


def build_example(store: Store) -> Example:
    study = make_study(store)
    ex = Example(
        study,
        add_answer(store, study, "q14", "GPT-4o was fast and cheap"),
        add_answer(store, study, "q14", "Really fast answers"),
        add_answer(store, study, "q14", "Cheap enough for students"),
        add_answer(store, study, "q14", "It understood my whole project"),
        add_comment(store, study, "Slow to start"),
    )
    coding.tag_answer(store, study, "survey", ex.a1, ["fast", "cheap"])
    coding.tag_answer(store, study, "survey", ex.a2, ["fast"])
    coding.tag_answer(store, study, "survey", ex.a3, ["cheap"])
    coding.tag_answer(store, study, "survey", ex.a4, ["context"])
    coding.tag_answer(store, study, "comment", ex.c1, ["slow"])
    codes = {c.name: c.id for c in coding.codebook(store, study).codes}
    coding.set_code_concept(store, study, codes["fast"], "Performance & Speed")
    coding.set_code_concept(store, study, codes["slow"], "performance & speed")  # same concept
    cost = coding.set_code_concept(store, study, codes["cheap"], "Cost & Accessibility")
    assert cost.concept_id is not None
    coding.set_concept_category(store, study, cost.concept_id, "Practicalities")
    perf = coding.set_code_concept(store, study, codes["fast"], "Performance & Speed")
    assert perf.concept_id is not None
    coding.set_concept_category(store, study, perf.concept_id, "practicalities")
    return ex


def _code(store: Store, study: str, name: str) -> coding.CodeCount:
    return next(c for c in coding.codebook(store, study).codes if c.name == name)


def test_only_free_text_answers_and_rating_comments_are_listed(store: Store) -> None:
    study = make_study(store)
    text = add_answer(store, study, "q14", "Good model")
    imported = add_answer(store, study, "q15", None, raw="As written in the form")
    add_answer(store, study, "q15", "   ")  # blank
    add_answer(store, study, "q1", "< 2")  # a choice, not free text
    add_answer(store, study, "q13", 4)
    comment = add_comment(store, study, "Nice code")
    add_comment(store, study, None)
    other = make_study(store, name="other")
    add_answer(store, other, "q14", "another study")
    answers = coding.list_answers(store, study)
    assert [(a.kind, a.id, a.question) for a in answers] == [
        ("survey", text, "q14"),
        ("survey", imported, "q15"),
        ("comment", comment, "comments"),
    ]
    assert answers[1].text == "As written in the form"
    assert all(a.participant_id.startswith("P-") for a in answers)


def test_tagging_creates_codes_by_name_and_allows_several_per_answer(store: Store) -> None:
    study = make_study(store)
    answer = add_answer(store, study, "q14", "fast and cheap")
    refs = coding.tag_answer(store, study, "survey", answer, ["Fast", " cheap  ", ""])
    assert [r.name for r in refs] == ["cheap", "Fast"]
    again = coding.tag_answer(store, study, "survey", answer, ["fast", "CHEAP"])  # reused
    assert [r.id for r in again] == [r.id for r in refs]
    codes = coding.codebook(store, study).codes
    assert [(c.question, c.name, c.count) for c in codes] == [
        ("q14", "cheap", 1),
        ("q14", "Fast", 1),
    ]
    coding.untag_answer(store, study, "survey", answer, refs[0].id)
    assert [r.name for r in coding.answer_codes(store, study, "survey", answer)] == ["Fast"]
    with pytest.raises(CodingError, match="at least one code"):
        coding.tag_answer(store, study, "survey", answer, [" "])


def test_codes_belong_to_the_answer_question(store: Store) -> None:
    study = make_study(store)
    q14 = add_answer(store, study, "q14", "a")
    q15 = add_answer(store, study, "q15", "b")
    comment = add_comment(store, study, "c")
    for kind, answer in (("survey", q14), ("survey", q15), ("comment", comment)):
        coding.tag_answer(store, study, kind, answer, ["speed"])
    assert sorted(c.question for c in coding.codebook(store, study).codes) == [
        "comments",
        "q14",
        "q15",
    ]


def test_answers_of_other_studies_and_unknown_ids_are_not_found(store: Store) -> None:
    study = make_study(store)
    other = make_study(store, name="other")
    foreign = add_answer(store, other, "q14", "theirs")
    foreign_comment = add_comment(store, other, "theirs")
    choice = add_answer(store, study, "q1", "< 2")
    for kind, answer in (
        ("survey", foreign),
        ("comment", foreign_comment),
        ("survey", choice),
        ("vote", foreign),
        ("survey", "nope"),
    ):
        with pytest.raises(CodingNotFound):
            coding.tag_answer(store, study, kind, answer, ["x"])
    with pytest.raises(CodingNotFound):
        coding.list_answers(store, "no-such-study")


@pytest.mark.postgres
def test_merging_codes_moves_assignments_without_duplicates(any_store: Store) -> None:
    store = any_store
    study = make_study(store)
    both = add_answer(store, study, "q14", "fast and quick")
    only_x = add_answer(store, study, "q14", "quick")
    only_y = add_answer(store, study, "q14", "fast")
    coding.tag_answer(store, study, "survey", both, ["quick", "fast"])
    coding.tag_answer(store, study, "survey", only_x, ["quick"])
    coding.tag_answer(store, study, "survey", only_y, ["fast"])
    quick, fast = _code(store, study, "quick"), _code(store, study, "fast")
    coding.set_code_concept(store, study, quick.id, "Performance")
    kept = coding.merge(store, CodingCode, study, quick.id, fast.id)
    assert kept.id == fast.id
    book = coding.codebook(store, study)
    assert [(c.name, c.count) for c in book.codes] == [("fast", 3)]
    assert book.codes[0].concept_id is not None  # took the merged code's concept
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(CodeAssignment)) == 3
        assert session.get(CodingCode, quick.id) is None
    for answer in (both, only_x, only_y):
        assert [r.name for r in coding.answer_codes(store, study, "survey", answer)] == ["fast"]


@pytest.mark.postgres
def test_merging_concepts_and_categories_moves_their_members(any_store: Store) -> None:
    store = any_store
    ex = build_example(store)
    book = coding.codebook(store, ex.study)
    [group] = book.categories
    perf, cost = sorted(group.concepts, key=lambda c: c.name, reverse=True)
    assert perf.name.startswith("Performance")
    coding.merge(store, CodingConcept, ex.study, cost.id, perf.id)
    book = coding.codebook(store, ex.study)
    [concept] = book.categories[0].concepts
    assert (concept.name, concept.count, len(concept.codes)) == ("Performance & Speed", 4, 3)
    other = coding.create_category(store, ex.study, "Other")
    coding.merge(store, CodingCategory, ex.study, group.id, other.id)
    book = coding.codebook(store, ex.study)
    assert [(g.name, g.count, len(g.concepts)) for g in book.categories] == [("Other", 4, 1)]
    with pytest.raises(CodingError, match="another"):
        coding.merge(store, CodingCategory, ex.study, other.id, other.id)


def test_codes_of_different_questions_are_not_merged(store: Store) -> None:
    ex = build_example(store)
    fast, slow = _code(store, ex.study, "fast"), _code(store, ex.study, "slow")
    with pytest.raises(CodingError, match="different questions"):
        coding.merge(store, CodingCode, ex.study, slow.id, fast.id)
    assert _code(store, ex.study, "slow").count == 1


def test_renaming_to_an_existing_name_says_merge_instead(store: Store) -> None:
    ex = build_example(store)
    fast, cheap = _code(store, ex.study, "fast"), _code(store, ex.study, "cheap")
    with pytest.raises(CodingConflict, match="merge instead"):
        coding.rename(store, CodingCode, ex.study, fast.id, "CHEAP")
    assert coding.rename(store, CodingCode, ex.study, fast.id, "Fast").name == "Fast"
    assert coding.rename(store, CodingCode, ex.study, cheap.id, "low cost").name == "low cost"
    coding.create_code(store, ex.study, "q15", "slow")  # same name, other question: fine
    concept = coding.create_concept(store, ex.study, "Context Awareness")
    with pytest.raises(CodingConflict, match="merge instead"):
        coding.rename(store, CodingConcept, ex.study, concept.id, "cost & accessibility")
    category = coding.create_category(store, ex.study, "Other")
    with pytest.raises(CodingConflict, match="merge instead"):
        coding.rename(store, CodingCategory, ex.study, category.id, "Practicalities")
    with pytest.raises(CodingConflict, match="already exists"):
        coding.create_code(store, ex.study, "q14", "FAST")
    with pytest.raises(CodingError, match="unknown question"):
        coding.create_code(store, ex.study, "q99", "x")
    with pytest.raises(CodingError, match="name"):
        coding.rename(store, CodingCode, ex.study, fast.id, "   ")


def test_counts_and_groups_on_a_hand_checked_example(store: Store) -> None:
    ex = build_example(store)
    book = coding.codebook(store, ex.study)
    assert (book.answers, book.coded) == (5, 5)
    assert {c.name: c.count for c in book.codes} == {"fast": 2, "cheap": 2, "context": 1, "slow": 1}
    [group] = book.categories
    assert (group.name, group.count) == ("Practicalities", 4)  # a1 a2 a3 c1, a1 once
    assert {c.name: (c.count, sorted(k.name for k in c.codes)) for c in group.concepts} == {
        "Cost & Accessibility": (2, ["cheap"]),
        "Performance & Speed": (3, ["fast", "slow"]),
    }
    assert book.ungrouped_concepts == []
    assert [c.name for c in book.ungrouped_codes] == ["context"]
    groups = coding.answers_by_category(store, ex.study)
    assert [(g.name, sorted(a.id for a in g.answers)) for g in groups] == [
        ("Practicalities", sorted([ex.a1, ex.a2, ex.a3, ex.c1])),
        (None, [ex.a4]),
    ]


def test_filters(store: Store) -> None:
    ex = build_example(store)
    extra = add_answer(store, ex.study, "q15", "Nothing to say about <b>it</b>")

    def ids(**kw: object) -> list[str]:
        return [a.id for a in coding.list_answers(store, ex.study, AnswerFilter(**kw))]  # type: ignore[arg-type]

    assert ids(question="comments") == [ex.c1]
    assert ids(code_id=_code(store, ex.study, "fast").id) == sorted([ex.a1, ex.a2], key=ids().index)
    assert ids(uncoded=True) == [extra]
    assert ids(search="CHEAP") == sorted([ex.a1, ex.a3], key=ids().index)
    assert ids(question="q14", search="fast", code_id=_code(store, ex.study, "cheap").id) == [ex.a1]


def test_coded_answer_rows(store: Store) -> None:
    ex = build_example(store)
    rows = coding.coded_answers(store, ex.study)
    assert len(rows) == 6  # a1 has two codes
    a1 = [r for r in rows if r["answer_id"] == ex.a1]
    assert [(r["code"], r["concept"], r["category"]) for r in a1] == [
        ("cheap", "Cost & Accessibility", "Practicalities"),
        ("fast", "Performance & Speed", "Practicalities"),
    ]
    assert set(a1[0]) == {
        "answer_kind",
        "answer_id",
        "question",
        "participant_id",
        "text",
        "code",
        "concept",
        "category",
    }
    assert a1[0]["text"] == "GPT-4o was fast and cheap" and a1[0]["question"] == "q14"
    comment = next(r for r in rows if r["answer_kind"] == "comment")
    assert (comment["question"], comment["code"], comment["answer_id"]) == (
        "comments",
        "slow",
        ex.c1,
    )
    a4 = next(r for r in rows if r["answer_id"] == ex.a4)
    assert (a4["concept"], a4["category"]) == (None, None)
    assert all("pseudonym" not in str(r.values()) for r in rows)
    extra = add_answer(store, ex.study, "q15", "uncoded")
    full = coding.coded_answers(store, ex.study, include_uncoded=True)
    assert [r["code"] for r in full if r["answer_id"] == extra] == [None]


def test_deleting_codes_concepts_and_categories(store: Store) -> None:
    ex = build_example(store)
    book = coding.codebook(store, ex.study)
    [group] = book.categories
    coding.remove(store, CodingCategory, ex.study, group.id)
    book = coding.codebook(store, ex.study)
    assert book.categories == [] and len(book.ungrouped_concepts) == 2
    perf = next(c for c in book.ungrouped_concepts if c.name.startswith("Perf"))
    coding.remove(store, CodingConcept, ex.study, perf.id)
    assert {c.name for c in coding.codebook(store, ex.study).ungrouped_codes} == {
        "fast",
        "slow",
        "context",
    }
    coding.remove(store, CodingCode, ex.study, _code(store, ex.study, "fast").id)
    assert [r.name for r in coding.answer_codes(store, ex.study, "survey", ex.a1)] == ["cheap"]
    with pytest.raises(CodingNotFound):
        coding.remove(store, CodingCode, ex.study, "missing")
    other = make_study(store, name="other")
    with pytest.raises(CodingNotFound):  # another study's code
        coding.rename(store, CodingCode, other, _code(store, ex.study, "cheap").id, "x")
