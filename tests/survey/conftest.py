"""A study with the 15-question instrument, and form exports shaped like real ones."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from codearena.store import Store
from codearena.store.platform_models import Participant, Study, SurveyAnswer
from codearena.survey import STUDY_2025

T = [q.text for q in STUDY_2025.questions]
NBSP = "\u00a0"

# The header as a form exports it: a Timestamp column, and the question texts with different
# case, a curly apostrophe, a trailing newline, missing or extra trailing punctuation, a
# non-breaking space and surrounding spaces.
HEADERS = [
    "Timestamp",
    T[0].upper(),
    T[1].replace("'", "\u2019"),
    T[2] + "\n",
    T[3].rstrip("?"),
    T[4] + ":",
    T[5].replace(" languages", NBSP + "languages"),
    T[6],
    T[7],
    "  " + T[8] + "  ",
    T[9],
    T[10],
    T[11],
    T[12] + ".",
    T[13],
    T[14],
]

ROWS: list[list[str]] = [
    # row 2
    ["2025-01-10 10:00", "2 - 5", "Master's degree", "India ", "IT (Information Technology)",
     "Developer", "Python;PhP;", "5 to 10", "Easy", "Yes", "Python;", "1-5", "GPT 4o", "5",
     "GPT-4o understands the context well.", "GPT 3.5 Turbo, it needed many fixes"],
    # row 3
    ["2025-01-10 11:00", "< 2", "Bachelor\u2019s degree", f"United{NBSP}States", "E-commerce",
     "Project Manage", "Java;C##;Python", "5", "Easy", "Yes", "Java;C##;", "5-10",
     "Llama 3.3 3b Instruct", "4", "Llama is fast and free", ""],
    # row 4
    ["2025-01-11 09:30", "6 - 10", "Doctorate degree", "Germany", "Telecommunication",
     "Senior Developer", "Python;Python;Rust", "10 to 15", "Difficult", "No", "Python",
     "10-15", "gpt 4o", "3", "", "Mixtral invented APIs"],
    # row 5
    ["2025-01-11 12:00", "10 - 15", "", "india", "IT (Information Technology)", "Team Leader",
     "C#;Matlab", "15 to 20", "Easy", "Yes", "C#", "15-20", "Mixtral 8x7B Instruct", "five",
     "Mixtral for data analysis", ""],
    # row 6: only the timestamp
    ["2025-01-12 08:00"] + [""] * 15,
    # row 7
    ["2025-01-12 09:00", "Prefer not to say", "Other", "Nepal", "Banking", "Developer",
     "PhP;Go;", "5", "Easy", "Yes", "PhP", "Other", "Llama 3.3 3b instruct", "4", "", ""],
]  # fmt: skip

ALIASES = """
[aliases]
"C##" = "C#"
"project manage" = "Project Manager"
"LLAMA 3.3 3B INSTRUCT" = "Llama 3.2 3B Instruct"
"five" = "5"
"""


def write_csv(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def _typed(cell: str, column: int) -> Any:
    """Cells as a spreadsheet holds them: dates, numbers (q7 "5", q13 ratings), text."""
    if column == 0 and cell:
        return datetime.fromisoformat(cell)
    if cell.isdigit() and column in (7, 13):
        return int(cell)
    return cell or None


def write_xlsx(path: Path, headers: list[str], rows: list[list[str]], sheet: str) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Notes"
    notes.append(["exported from the form on 2025-01-20"])
    data = workbook.create_sheet(sheet)
    data.append(headers)
    for row in rows:
        data.append([_typed(cell, i) for i, cell in enumerate(row)])
    workbook.save(path)
    return path


def make_study(store: Store, name: str = "practitioners 2025") -> str:
    with store.session() as session:
        study = Study(
            name=name,
            models=["openai/gpt-4o", "meta-llama/llama-3.2-3b-instruct"],
            mode="named",
            survey_name=STUDY_2025.name,
            survey=STUDY_2025.to_dict(),
        )
        session.add(study)
    return study.id


def counts(store: Store, study_id: str) -> tuple[int, int]:
    """(participants, survey answers) of the study."""
    with store.session() as session:
        people = session.scalar(
            select(func.count()).select_from(Participant).where(Participant.study_id == study_id)
        )
        answers = session.scalar(
            select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.study_id == study_id)
        )
    return int(people or 0), int(answers or 0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'survey.db'}")
    yield store
    store.dispose()


@pytest.fixture
def study(store: Store) -> str:
    return make_study(store)


@pytest.fixture
def export_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "responses.csv", HEADERS, ROWS)


@pytest.fixture
def aliases_file(tmp_path: Path) -> Path:
    path = tmp_path / "aliases.toml"
    path.write_text(ALIASES, encoding="utf-8")
    return path
