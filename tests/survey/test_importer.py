"""Importing form exports: columns, counts, Other, aliases, re-import, bad files, sheets."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Participant, SurveyAnswer
from codearena.store.research_models import CodeAssignment, CodingCode
from codearena.survey.aliases import AliasError, load_aliases
from codearena.survey.importer import ImportFailure, import_survey
from codearena.survey.summary import UnknownStudy, summarize_survey
from tests.survey.conftest import (
    HEADERS,
    ROWS,
    T,
    counts,
    make_study,
    write_csv,
    write_xlsx,
)

UNKNOWN_WITHOUT_ALIASES = {
    "3": {"Nepal": 1},
    "4": {"Banking": 1},
    "5": {"Project Manage": 1},
    "6": {"C##": 1, "Go": 1, "Rust": 1},
    "10": {"C##": 1},
    "12": {"Llama 3.3 3b Instruct": 2},
    "13": {"five": 1},
}


def test_columns_match_by_normalised_text_and_extras_are_reported(
    store: Store, study: str, export_csv: Path
) -> None:
    report = import_survey(store, study, export_csv).to_dict()
    assert report["matched_columns"] == {
        " ".join(h.split()): n for n, h in enumerate(HEADERS[1:], start=1)
    }
    assert sorted(report["matched_columns"].values()) == list(range(1, 16))
    assert report["unmatched_columns"] == ["Timestamp"]
    assert report["respondents"] == 5 and report["blank_rows"] == 1 and report["replaced"] == 0
    assert report["unknown_answers"] == UNKNOWN_WITHOUT_ALIASES


def test_imported_rows_are_participants_with_raw_text_and_canonical_values(
    store: Store, study: str, export_csv: Path
) -> None:
    import_survey(store, study, export_csv)
    with store.session() as session:
        people = {p.pseudonym: p for p in session.scalars(select(Participant))}
        answers = {
            (a.participant_id, a.question_id): a for a in session.scalars(select(SurveyAnswer))
        }
    assert sorted(people) == [f"import-row-{n}" for n in (2, 3, 4, 5, 7)]
    for person in people.values():
        assert person.source == "import" and person.study_id == study
        assert person.consented_at is not None and person.survey_completed_at is not None
    row3 = people["import-row-3"].id
    assert answers[row3, "q3"].value == "United States"
    assert answers[row3, "q3"].raw == "United\u00a0States"
    assert answers[row3, "q6"].value == ["Python", "Java", "Other"]
    assert answers[row3, "q6"].raw == "Java;C##;Python"
    assert answers[row3, "q12"].value == "Other"
    assert answers[row3, "q12"].raw == "Llama 3.3 3b Instruct"
    assert (
        answers[row3, "q13"].value == 4 and answers[row3, "q14"].value == "Llama is fast and free"
    )
    row5 = people["import-row-5"].id
    assert (row5, "q2") not in answers  # blank: no answer
    assert answers[row5, "q13"].value == "Other" and answers[row5, "q13"].raw == "five"


def test_counts_once_per_respondent_and_option_with_other(
    store: Store, study: str, export_csv: Path
) -> None:
    import_survey(store, study, export_csv)
    summary = summarize_survey(store, study)
    assert summary.respondents == 5
    assert summary.question(3).counts == {
        "Brazil": 0, "China": 0, "Germany": 1, "India": 2, "Indonesia": 0, "Mexico": 0,
        "Philippines": 0, "Russia": 0, "United States": 1, "United Kingdom": 0, "Other": 1,
    }  # fmt: skip
    q6 = summary.question(6)
    assert q6.answered == 5
    assert q6.counts == {"Python": 3, "Matlab": 1, "Java": 1, "C#": 1, "PhP": 2, "Other": 3}
    assert q6.to_dict()["percentages"]["Python"] == 60.0
    q12 = summary.question(12)
    assert q12.counts["GPT 4o"] == 2 and q12.counts["Llama 3.2 3B Instruct"] == 0
    assert q12.counts["Other"] == 2 and "Other" not in q12.question.options
    q2 = summary.question(2)
    assert q2.answered == 4 and q2.counts["Other"] == 1  # chose the Other option itself
    q13 = summary.question(13)
    assert (q13.answered, q13.mean, q13.median) == (5, 4.0, 4.0)
    assert q13.counts == {"1": 0, "2": 0, "3": 1, "4": 2, "5": 1, "Other": 1}


def test_aliases_fix_answers_and_reimport_replaces(
    store: Store, study: str, export_csv: Path, aliases_file: Path
) -> None:
    first = import_survey(store, study, export_csv)
    before = counts(store, study)
    second = import_survey(store, study, export_csv, aliases=load_aliases(aliases_file))
    assert counts(store, study) == before  # replaced, not duplicated
    assert second.replaced == first.respondents == second.respondents == 5
    assert second.to_dict()["unknown_answers"] == {
        "3": {"Nepal": 1},
        "4": {"Banking": 1},
        "6": {"Go": 1, "Rust": 1},
    }
    summary = summarize_survey(store, study)
    assert summary.question(5).counts["Project Manager"] == 1
    assert summary.question(6).counts == {
        "Python": 3, "Matlab": 1, "Java": 1, "C#": 2, "PhP": 2, "Other": 2,
    }  # fmt: skip
    assert summary.question(12).counts["Llama 3.2 3B Instruct"] == 2
    assert summary.question(12).counts["Other"] == 0
    assert summary.question(13).mean == pytest.approx(21 / 5)


def test_reimport_keeps_platform_participants_and_codes_on_unchanged_answers(
    database_url: str, tmp_path: Path
) -> None:
    store = Store(database_url)
    try:
        study = make_study(store)
        with store.session() as session:
            session.add(Participant(id="P-PLATFORM01", study_id=study, pseudonym="ada"))
            session.flush()
            session.add(SurveyAnswer(study_id=study, participant_id="P-PLATFORM01",
                                     question_id="q3", value="India"))  # fmt: skip
        path = write_csv(tmp_path / "export.csv", HEADERS, ROWS)
        import_survey(store, study, path)
        assert counts(store, study) == (6, 5 * 15 - 6 + 1)
        with store.session() as session:
            q14 = session.scalars(select(SurveyAnswer).where(SurveyAnswer.question_id == "q14"))
            kept, changed = sorted(q14, key=lambda a: a.raw or "")[:2]
            code = CodingCode(study_id=study, question="q14", name="speed")
            session.add(code)
            session.flush()
            for answer in (kept, changed):
                session.add(
                    CodeAssignment(code_id=code.id, answer_kind="survey", answer_id=answer.id)
                )
        rows = [list(r) for r in ROWS]
        for row in rows:
            if row[14] == changed.raw:
                row[14] = "edited"
        report = import_survey(store, study, write_csv(tmp_path / "again.csv", HEADERS, rows))
        assert report.replaced == 5
        assert counts(store, study) == (6, 5 * 15 - 6 + 1)
        with store.session() as session:
            sources = sorted(session.scalars(select(Participant.source)))
            assigned = list(session.scalars(select(CodeAssignment.answer_id)))
            platform = session.get(Participant, "P-PLATFORM01")
        assert sources == ["import"] * 5 + ["platform"]
        assert platform is not None and platform.pseudonym == "ada"
        assert assigned == [kept.id]  # the edited answer's code went with it
        assert summarize_survey(store, study).question(3).counts["India"] == 3
    finally:
        store.dispose()


def test_bad_files_give_clear_errors_and_change_nothing(
    store: Store, study: str, export_csv: Path, tmp_path: Path
) -> None:
    import_survey(store, study, export_csv)
    before = counts(store, study)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(T).encode("utf-8") + "\n\xe9t\xe9\n".encode("latin-1"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    other = write_csv(tmp_path / "other.csv", ["Name", "Score"], [["a", "1"]])
    header_only = write_csv(tmp_path / "header.csv", HEADERS, [])
    text = tmp_path / "notes.txt"
    text.write_text("x", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    cases: list[tuple[Path, str | None, str]] = [
        (tmp_path / "missing.csv", None, "no such file"),
        (text, None, "use a .csv or .xlsx file"),
        (empty, None, "is empty"),
        (latin, None, "not UTF-8"),
        (broken, None, "not a readable .xlsx"),
        (other, None, "no column header matches a question"),
        (header_only, None, "no row has an answer"),
        (export_csv, "Sheet1", "--sheet applies to .xlsx files only"),
    ]
    for path, sheet, message in cases:
        with pytest.raises(ImportFailure, match=message):
            import_survey(store, study, path, sheet=sheet)
    assert counts(store, study) == before
    with pytest.raises(UnknownStudy):
        import_survey(store, "no-such-study", export_csv)
    bad_alias = tmp_path / "bad.toml"
    bad_alias.write_text('[aliases]\n"C##" = "C sharp"\n', encoding="utf-8")
    with pytest.raises(AliasError, match="not an option"):
        import_survey(store, study, export_csv, aliases=load_aliases(bad_alias))
    assert counts(store, study) == before


def test_xlsx_sheet_selection(store: Store, study: str, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.xlsx", HEADERS, ROWS, "Form Responses 1")
    with pytest.raises(ImportFailure, match="no column header matches"):
        import_survey(store, study, path)  # the first sheet holds only a note
    with pytest.raises(ImportFailure, match=r"no sheet 'Responses'.*'Form Responses 1'"):
        import_survey(store, study, path, sheet="Responses")
    assert counts(store, study) == (0, 0)
    report = import_survey(store, study, path, sheet="Form Responses 1")
    assert report.respondents == 5 and report.unmatched_columns == ["Timestamp"]
    assert report.to_dict()["unknown_answers"] == UNKNOWN_WITHOUT_ALIASES
    summary = summarize_survey(store, study)
    assert summary.question(7).counts["5"] == 2  # numeric cells read as their text
    assert summary.question(13).mean == 4.0


def test_study_by_unique_name(store: Store, export_csv: Path) -> None:
    make_study(store, "alpha")
    make_study(store, "twin")
    make_study(store, "twin")
    assert import_survey(store, "alpha", export_csv).respondents == 5
    with pytest.raises(UnknownStudy, match="2 studies are named 'twin'"):
        import_survey(store, "twin", export_csv)
