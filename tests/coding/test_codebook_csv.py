"""The codebook CSV: export, import, round trip, bad files (line numbers, nothing imported), CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codearena import coding
from codearena.coding import CodebookError
from codearena.coding.cli import coding_app
from codearena.config import Settings
from codearena.store import Store
from tests.coding.seed import make_study
from tests.coding.test_service import build_example

HEADER = "question,code,concept,category\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'coding.db'}")
    yield store
    store.dispose()


def test_export_writes_every_code_with_its_concept_and_category(store: Store) -> None:
    ex = build_example(store)
    assert coding.export_codebook(store, ex.study) == (
        HEADER
        + "q14,cheap,Cost & Accessibility,Practicalities\n"
        + "q14,context,,\n"
        + "q14,fast,Performance & Speed,Practicalities\n"
        + "comments,slow,Performance & Speed,Practicalities\n"
    )


def test_round_trip_into_another_study(store: Store) -> None:
    ex = build_example(store)
    coding.create_code(store, ex.study, "q15", 'Says "hi", twice')  # quoting
    exported = coding.export_codebook(store, ex.study)
    fresh = make_study(store, name="fresh")
    report = coding.import_codebook(store, fresh, exported.encode("utf-8"))
    assert (report.rows, report.codes_created, report.concepts_created) == (5, 5, 2)
    assert report.categories_created == 1
    assert coding.export_codebook(store, fresh) == exported
    again = coding.import_codebook(store, fresh, exported)  # idempotent
    assert (again.codes_created, again.concepts_created, again.codes_updated) == (0, 0, 0)
    assert coding.export_codebook(store, fresh) == exported


def test_import_updates_what_it_names_and_leaves_the_rest(store: Store) -> None:
    ex = build_example(store)
    text = (
        "\ufeffCode,Question,Category,Concept\n"  # BOM, any column order and case
        "fast,q14,,Speed\n"
        "\n"
        "cheap,q14,,\n"
        "new one,q15,Other,Speed\n"
    )
    report = coding.import_codebook(store, ex.study, text)
    assert (report.codes_created, report.concepts_created, report.categories_created) == (1, 1, 1)
    assert report.codes_updated == 2
    assert coding.export_codebook(store, ex.study) == (
        HEADER
        + "q14,cheap,,\n"
        + "q14,context,,\n"
        + "q14,fast,Speed,Other\n"
        + "q15,new one,Speed,Other\n"
        + "comments,slow,Performance & Speed,Practicalities\n"
    )
    assert _count(store, ex.study, "fast") == 2  # assignments kept


def _count(store: Store, study: str, name: str) -> int:
    return next(c.count for c in coding.codebook(store, study).codes if c.name == name)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", ["line 1: the file is empty"]),
        ("q14,fast,,\n", ["line 1: the header must be question,code,concept,category"]),
        (
            HEADER.replace("concept", "konzept"),
            [
                "line 1: the header must be question,code,concept,category (missing concept; unknown column 'konzept')"
            ],
        ),
        (
            HEADER + "q14,ok,,\nq99,bad,,\ncomments,fine,C,K\nq14,,,\nq14,x,,K\nq14,y,z\n",
            [
                "line 3: unknown question 'q99'",
                "line 5: the code is blank",
                "line 6: a category needs a concept",
                "line 7: expected 4 fields, got 3",
            ],
        ),
        (
            HEADER + 'q14,"multi\nline",C,K\nq14,a,C,L\nq14,MULTI line,D,\n',
            [
                "line 4: concept 'C' is put under another category on line 3",
                "line 5: code 'MULTI line' of q14 is put under another concept on line 3",
            ],
        ),
        (HEADER + "q14," + "x" * 201 + ",,\n", ["line 2: the code has more than 200 characters"]),
        (b"\xff\xfe\x00q", ["the file is not UTF-8 text"]),
    ],
)
def test_bad_files_report_line_numbers_and_import_nothing(
    store: Store, text: str | bytes, problems: list[str]
) -> None:
    ex = build_example(store)
    before = coding.export_codebook(store, ex.study)
    if isinstance(text, str) and text.startswith(HEADER):  # a good row first: not imported either
        text = text.replace(HEADER, HEADER + "q14,brand new,New concept,New cat\n", 1)
        problems = [_shift(p) for p in problems]
    with pytest.raises(CodebookError) as caught:
        coding.import_codebook(store, ex.study, text)
    assert len(caught.value.problems) == len(problems), caught.value.problems
    for got, wanted in zip(caught.value.problems, problems, strict=True):
        assert got.startswith(wanted), (got, wanted)
    assert str(caught.value).startswith("the codebook was not imported: ")
    assert coding.export_codebook(store, ex.study) == before


def _shift(problem: str) -> str:
    """The tests put one good row first, so every line number moves by one."""
    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + 1}", problem)


def test_unknown_study(store: Store) -> None:
    with pytest.raises(coding.CodingNotFound):
        coding.import_codebook(store, "missing", HEADER)
    with pytest.raises(coding.CodingNotFound):
        coding.export_codebook(store, "missing")


def test_cli_export_and_import(settings: Settings, tmp_path: Path) -> None:
    store = Store(settings.database_url)
    ex = build_example(store)
    fresh = make_study(store, name="fresh")
    runner = CliRunner()
    out = tmp_path / "book.csv"
    result = runner.invoke(
        coding_app, ["codebook", "export", "--study", ex.study, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(HEADER)
    result = runner.invoke(coding_app, ["codebook", "import", str(out), "--study", fresh])
    assert result.exit_code == 0, result.output
    assert "4 new codes" in result.output
    assert coding.export_codebook(store, fresh) == out.read_text()

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "q14,ok,,\nq42,bad,,\n")
    result = runner.invoke(coding_app, ["codebook", "import", str(bad), "--study", fresh])
    assert result.exit_code == 2
    assert (
        "line 3: unknown question 'q42'" in result.output
        and "nothing was imported" in result.output
    )
    result = runner.invoke(
        coding_app, ["codebook", "import", str(tmp_path / "none.csv"), "--study", fresh]
    )
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(
        coding_app, ["codebook", "export", "--study", "missing", "--out", str(out)]
    )
    assert result.exit_code == 2 and "no study with id or name" in result.output
    store.dispose()
