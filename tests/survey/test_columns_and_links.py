"""The alias file's [columns] and [link] tables: headers that are not the question's text,
questions that got no column (with suggestions, never applied), and respondents linked to
platform participants."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Participant, SurveyAnswer
from codearena.survey.aliases import AliasError, aliases_from_dict, load_aliases
from codearena.survey.importer import ImportFailure, import_survey
from tests.survey.conftest import HEADERS, ROWS, T, counts, write_csv

SHORT = "Years programming (approx.)"


def _renamed(tmp_path: Path, **extra: str) -> tuple[list[str], list[list[str]]]:
    """The export with question 1's header shortened and question 2's column dropped."""
    headers = [HEADERS[0], SHORT, *HEADERS[3:]]
    rows = [[row[0], row[1], *row[3:]] for row in ROWS]
    for header, values in extra.items():
        headers.append(header)
        for row, value in zip(rows, values.split(","), strict=True):
            row.append(value)
    return headers, rows


def test_unmatched_questions_are_reported_with_a_suggestion_that_is_not_applied(
    store: Store, study: str, tmp_path: Path
) -> None:
    headers, rows = _renamed(tmp_path)
    headers[1] = T[0].replace("experience", "experiance")  # a typo the form made
    path = write_csv(tmp_path / "typo.csv", headers, rows)
    report = import_survey(store, study, path).to_dict()
    numbers = [q["number"] for q in report["unmatched_questions"]]
    assert numbers == [1, 2]
    assert report["unmatched_questions"][1]["text"] == T[1]
    (suggestion,) = report["suggestions"]
    assert suggestion["question"] == 1 and suggestion["header"] == headers[1]
    assert 0.9 < suggestion["similarity"] < 1.0
    assert 1 not in report["matched_columns"].values()  # suggested, never used


def test_columns_table_maps_a_header_to_a_question(
    store: Store, study: str, tmp_path: Path
) -> None:
    headers, rows = _renamed(tmp_path)
    path = write_csv(tmp_path / "short.csv", headers, rows)
    aliases = aliases_from_dict({"columns": {SHORT.upper(): 1}}, "test")
    report = import_survey(store, study, path, aliases=aliases).to_dict()
    assert report["mapped_columns"] == {SHORT: 1}
    assert report["matched_columns"][SHORT] == 1
    assert [q["number"] for q in report["unmatched_questions"]] == [2]
    with store.session() as session:
        values = sorted(
            str(a.value) for a in session.scalars(select(SurveyAnswer)) if a.question_id == "q1"
        )
    assert values == sorted(["2 - 5", "< 2", "6 - 10", "10 - 15", "Prefer not to say"])


def test_columns_and_link_errors_are_clear(store: Store, study: str, tmp_path: Path) -> None:
    with pytest.raises(AliasError, match="question number"):
        aliases_from_dict({"columns": {"x": "one"}}, "f.toml")
    with pytest.raises(AliasError, match=r"\[link\] takes one key"):
        aliases_from_dict({"link": {"header": "x"}}, "f.toml")
    with pytest.raises(AliasError, match="only \\[aliases\\], \\[columns\\] and \\[link\\]"):
        aliases_from_dict({"aliases": {}, "colums": {}}, "f.toml")
    headers, rows = _renamed(tmp_path)
    path = write_csv(tmp_path / "e.csv", headers, rows)
    before = counts(store, study)
    with pytest.raises(ImportFailure, match="questions 1 to 15"):
        import_survey(store, study, path, aliases=aliases_from_dict({"columns": {SHORT: 16}}, "f"))
    with pytest.raises(ImportFailure, match="not a header of the file"):
        import_survey(
            store, study, path, aliases=aliases_from_dict({"link": {"column": "Code"}}, "f")
        )
    assert counts(store, study) == before


def _platform_people(store: Store, study: str) -> dict[str, str]:
    with store.session() as session:
        a = Participant(
            study_id=study, pseudonym="falcon", email="Ana@Example.org", consented_at=None
        )
        b = Participant(study_id=study, pseudonym="heron", consented_at=None)
        session.add_all([a, b])
        session.flush()
        # heron answered question 1 on the platform: that answer stays
        session.add(
            SurveyAnswer(study_id=study, participant_id=b.id, question_id="q1", value="< 2")
        )
        return {"falcon": a.id, "heron": b.id}


def test_link_column_attaches_answers_to_platform_participants(
    store: Store, study: str, tmp_path: Path
) -> None:
    people = _platform_people(store, study)
    # rows 2..7: e-mail of falcon, heron's id, an unknown code, blank (timestamp-only row), blank
    codes = f"ana@example.org,{people['heron'].lower()},nobody,,,"
    headers = [*HEADERS, "Participant code"]
    rows = [[*row, code] for row, code in zip(ROWS, codes.split(","), strict=True)]
    path = write_csv(tmp_path / "linked.csv", headers, rows)
    aliases = aliases_from_dict({"link": {"column": "participant CODE"}}, "f")
    report = import_survey(store, study, path, aliases=aliases).to_dict()
    assert report["linked"] == 2 and report["respondents"] == 5
    assert report["unlinked"] == [{"row": 4, "value": "nobody"}]
    assert report["kept_platform_answers"] == 1
    assert "Participant code" not in report["unmatched_columns"]
    with store.session() as session:
        imported = session.scalars(select(Participant).where(Participant.source == "import")).all()
        assert len(imported) == 3
        mine = {
            a.question_id: a
            for a in session.scalars(
                select(SurveyAnswer).where(SurveyAnswer.participant_id == people["heron"])
            )
        }
        assert mine["q1"].value == "< 2" and mine["q1"].raw is None  # the platform's answer
        assert mine["q2"].raw == ROWS[1][2]  # imported from row 3
        falcon = session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.participant_id == people["falcon"])
        ).all()
        assert len(falcon) == 15
        assert len(mine) == 1 + sum(1 for cell in ROWS[1][2:] if cell.strip())
    first = counts(store, study)
    again = import_survey(store, study, path, aliases=aliases).to_dict()
    assert again["replaced"] == 5 and again["linked"] == 2
    assert counts(store, study) == first  # replaced, not doubled; the platform answer kept
    # importing without the link removes the linked answers and keeps the platform's
    import_survey(store, study, path)
    with store.session() as session:
        left = session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.participant_id.in_(people.values()))
        ).all()
        assert [(a.question_id, a.raw) for a in left] == [("q1", None)]


def test_two_rows_naming_one_participant_are_refused(
    store: Store, study: str, tmp_path: Path
) -> None:
    _platform_people(store, study)
    headers = [*HEADERS, "code"]
    rows = [[*row, "falcon" if i in (0, 2) else ""] for i, row in enumerate(ROWS)]
    path = write_csv(tmp_path / "twice.csv", headers, rows)
    before = counts(store, study)
    with pytest.raises(ImportFailure, match="rows 2 and 4 both name participant 'falcon'"):
        import_survey(
            store, study, path, aliases=aliases_from_dict({"link": {"column": "code"}}, "f")
        )
    assert counts(store, study) == before


def test_alias_file_with_all_three_tables(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(
        '[aliases]\n"C##" = "C#"\n[columns]\n"Years" = 1\n[link]\ncolumn = "Code"\n', "utf-8"
    )
    loaded = load_aliases(path)
    assert loaded.table == {"c##": "C#"} and loaded.columns == {"years": 1}
    assert loaded.link == "Code"


def test_the_report_counts_the_answers_matched_through_aliases(
    store: Store, study: str, export_csv: Path, aliases_file: Path, tmp_path: Path
) -> None:
    from codearena.reports import build_report

    import_survey(store, study, export_csv)
    plain = build_report(store, study, tmp_path / "a", "md", rounds=20).path.read_text()
    assert "alias file" not in plain
    import_survey(store, study, export_csv, aliases=load_aliases(aliases_file))
    text = build_report(store, study, tmp_path / "b", "md", rounds=20).path.read_text()
    # C## in questions 6 and 10, Project Manage, the Llama spelling twice, and "five"
    assert "6 imported answers (or parts of multi-select answers) were matched" in text
