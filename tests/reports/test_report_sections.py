"""The report's sections beyond the basics (breakdowns, mixed models, conversations and
correction cost), what its figures say (labels, n, legends, rho), and inert Markdown from
participants' text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codearena.reports import build_report
from codearena.reports.build import _md_cell
from codearena.store import Store
from codearena.store.platform_models import SurveyAnswer
from tests.analysis.data import make_study, pid
from tests.reports.realistic import LABELS, make_realistic_study


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("sections")
    store = Store(f"sqlite:///{root / 'study.db'}")
    study_id = make_realistic_study(store, tasks=80)
    md = build_report(store, study_id, root / "md", "md", rounds=100).path.read_text()
    html = build_report(store, study_id, root / "html", "html", rounds=100).path.read_text()
    return root / "md", md, html


def test_breakdowns_inference_and_corrections_sections(built: tuple[Path, str, str]) -> None:
    _, md, html = built
    breakdowns = md.split("## Breakdowns", 1)[1].split("## Ratings", 1)[0]
    for title in ("output language", "task category", "experience", "role"):
        assert f"### By {title}" in breakdowns
    assert re.search(r"\| Python \| openai/chatgpt-4o-latest \| \d+ \|", breakdowns)
    inference = md.split("### Mixed models", 1)[1].split("## Objective measurements", 1)[0]
    assert "#### correctness (n = " in inference and "ICC participant" in inference
    assert "#### Pairwise comparisons (Holm-corrected within each family)" in inference
    corrections = md.split("## Conversations and correction cost", 1)[1].split("## Survey", 1)[0]
    assert "| model | passed unchanged | share | by repair 1 | by repair 2 | fixed by hand |" in (
        corrections
    )
    assert "![Pass rate by repair round per model](repair_rounds.png)" in corrections
    assert "### By output language: passed unchanged and fixed by hand" in corrections
    assert re.search(
        r"\| Python \| openai/gpt-3\.5-turbo \| \d+/\d+ \| \d+% \| \d+/\d+ \|", corrections
    )
    assert "| minutes to usable | " in corrections
    assert 'data-testid="corrections"' in html and "Breakdowns</h2>" in html


def test_figures_carry_labels_n_legends_and_rho(built: tuple[Path, str, str]) -> None:
    out, _, _ = built
    board = (out / "leaderboard.svg").read_text()
    assert f"{LABELS['openai/chatgpt-4o-latest'][0]} (n=" in board
    assert "openai/chatgpt-4o-latest" not in board and "…" not in board  # labels, untruncated
    assert "Llama 3.2 3B Instruct (n=" in board and "open: no limit" in board
    heatmap = (out / "winrate.svg").read_text()
    assert "share of the battles won by the row" in heatmap and "n=" in heatmap
    ratings = (out / "ratings.svg").read_text()
    assert "score" in ratings and "correctness (n=" in ratings
    scatter = (out / "human_vs_objective.svg").read_text()
    assert "Spearman rho = " in scatter and "n = " in scatter
    assert "answers (n=" in scatter
    passes = (out / "pass_rates.svg").read_text()
    assert "95% Wilson interval" in passes and "GPT 4o (n=" in passes
    curve = (out / "repair_rounds.svg").read_text()
    assert "first answer" in curve and "repair 2" in curve and "GPT 4 Turbo (n=" in curve
    yes_no = (out / "survey_q9.svg").read_text()  # Yes / No
    rating = (out / "survey_q13.svg").read_text()  # a 1-5 rating
    for svg in (yes_no, rating):
        assert "Other" not in svg and "% of N" in svg and "N = 40" in svg
    assert re.search(r"\d+ \(\d+%\)", yes_no)


def test_survey_tables_have_no_other_row_for_closed_questions(
    built: tuple[Path, str, str],
) -> None:
    _, md, _ = built
    q9 = md.split("### Q9.", 1)[1].split("### Q10.", 1)[0]
    q13 = md.split("### Q13.", 1)[1].split("### Q14.", 1)[0]
    q8 = md.split("### Q8.", 1)[1].split("### Q9.", 1)[0]
    assert "| Yes |" in q9 and "Other" not in q9
    assert "| 5 |" in q13 and "Other" not in q13
    assert "| Other |" in q8  # an open-ended question keeps its Other


PAYLOAD = (
    "[click](http://evil.example) ![img](x.png) **bold** _it_ `code` www.evil.example "
    "<img src=x onerror=alert(1)> a|b"
)


def test_participant_text_is_inert_markdown(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'md.db'}")
    study_id = make_study(store)
    with store.session() as s:
        s.add(
            SurveyAnswer(
                study_id=study_id, participant_id=pid(study_id, 1), question_id="q14", value=PAYLOAD
            )
        )
    md = build_report(store, study_id, tmp_path / "md", "md", rounds=30).path.read_text()
    line = next(row for row in md.splitlines() if "evil" in row and "click" in row)
    assert line.startswith("- \\[click\\](http\\://evil.example)")
    assert not re.search(r"(?<!\\)[\[\]]", line), "every bracket is escaped: no link"
    assert "<img" not in line and "![" not in line
    assert "\\*\\*bold\\*\\*" in line and "\\_it\\_" in line and "\\`code\\`" in line
    assert "www\\.evil.example" in line and "a\\|b" in line
    assert "&lt;img src=x onerror=alert(1)&gt;" in line
    html = build_report(store, study_id, tmp_path / "html", "html", rounds=30).path.read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# heading", "\\# heading"),
        ("1. item", "1\\. item"),
        ("- item", "\\- item"),
        ("-∞ to 1079", "-∞ to 1079"),
        ("0.67", "0.67"),
        ("gpt-3.5-turbo", "gpt-3.5-turbo"),
        ("line one\nline two", "line one line two"),
        ("https://x.example", "https\\://x.example"),
    ],
)
def test_md_cell(text: str, expected: str) -> None:
    assert _md_cell(text) == expected


def test_the_report_takes_the_leaderboards_vote_options_and_says_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from codearena.store import Store
    from tests.analysis.data import make_study
    from tests.test_cli import run

    url = f"sqlite:///{tmp_path / 'options.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    study_id = make_study(store)
    store.dispose()
    args = ["report", "--study", study_id, "--format", "md", "--rounds", "20"]
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "default"))
    assert code == 0, err
    plain = (tmp_path / "default" / "report.md").read_text()
    code, out, err = run(
        capsys, *args, "--out", str(tmp_path / "options"),
        "--no-imported", "--both-bad", "drop", "--include-flagged",
    )  # fmt: skip
    assert code == 0, err
    assert "imported votes left out, both-bad votes dropped, self-identified votes counted" in out
    text = (tmp_path / "options" / "report.md").read_text()
    assert "imported votes were left out" in text and "imported votes were left out" not in plain
    assert "dropped" in text and "counted as a tie" in plain
    assert "named their own model was included" in text and "was left out" in plain
    code, _, err = run(capsys, *args, "--out", str(tmp_path / "bad"), "--both-bad", "maybe")
    assert code == 2 and "--both-bad must be tie or drop" in err
