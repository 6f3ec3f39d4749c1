"""Summaries: platform and imported answers analysed alike; the JSON shape; ratings; text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codearena.store import Store
from codearena.studies import participants, survey
from codearena.studies.study import get_study
from codearena.survey.importer import import_survey
from codearena.survey.summary import summarize_survey
from tests.survey.conftest import HEADERS, T, make_study, write_csv

# One respondent's answers as the platform's survey page sends them, and as a form export.
PLATFORM: dict[str, Any] = {
    "q1": "2 - 5", "q2": "Master's degree", "q3": "Other", "q4": "E-commerce",
    "q5": "Team Leader", "q6": ["Python", "C#", "Other"], "q7": "5 to 10", "q8": "Easy",
    "q9": "Yes", "q10": ["Python"], "q11": "1-5", "q12": "GPT 4o", "q13": 4,
    "q14": "GPT 4o follows the context", "q15": "GPT 3.5 Turbo needed corrections",
}  # fmt: skip
EXPORT_ROW = [
    "2025-01-10", "2 - 5", "Master's degree", "Nepal", "e-commerce", "team leader",
    "Python;C#;Go;", "5 to 10", "Easy", "Yes", "Python", "1-5", "GPT 4o", "4",
    "GPT 4o follows the context", "GPT 3.5 Turbo needed corrections",
]  # fmt: skip


def _platform_respondent(store: Store, study_id: str, answers: dict[str, Any]) -> None:
    study = get_study(store, study_id)
    participant = participants.join(store, study, participants.JoinInput(pseudonym="ada"))
    participants.consent(store, participant.id)
    assert survey.save_each(store, study, participant.id, answers) == {}
    survey.submit(store, study, participant.id)


def _questions(store: Store, study_id: str) -> list[dict[str, Any]]:
    return list(summarize_survey(store, study_id).to_dict()["questions"])


def test_platform_and_imported_answers_are_analysed_the_same_way(
    store: Store, tmp_path: Path
) -> None:
    platform, imported, both = (make_study(store, n) for n in ("platform", "import", "both"))
    export = write_csv(tmp_path / "one.csv", HEADERS, [EXPORT_ROW])
    _platform_respondent(store, platform, PLATFORM)
    import_survey(store, imported, export)
    assert _questions(store, platform) == _questions(store, imported)
    _platform_respondent(store, both, PLATFORM)
    import_survey(store, both, export)
    summary = summarize_survey(store, both)
    assert summary.respondents == 2 and summary.by_source == {"platform": 1, "import": 1}
    for one, two in zip(_questions(store, platform), summary.to_dict()["questions"], strict=True):
        assert {k: 2 * v for k, v in one["counts"].items()} == two["counts"]
        assert one["percentages"] == two["percentages"]
        assert one["mean"] == two["mean"]
    assert summary.question(3).counts["Other"] == 2  # chosen on the platform, typed in the form
    assert summary.question(14).answers == ["GPT 4o follows the context"] * 2


def test_summary_json_shape(store: Store, study: str, export_csv: Path) -> None:
    import_survey(store, study, export_csv)
    data = json.loads(json.dumps(summarize_survey(store, study).to_dict()))
    assert data["respondents"] == 5
    questions = data["questions"]
    assert [q["number"] for q in questions] == list(range(1, 16))
    assert [q["text"] for q in questions] == T
    assert [q["type"] for q in questions][:7] == ["single"] * 5 + ["multi", "single"]
    for q in questions:
        assert {"number", "text", "type", "answered", "counts", "mean", "median"} <= q.keys()
        assert "percentages" in q
        if q["type"] in ("single", "multi"):
            assert "Other" in q["counts"] and q["mean"] is None and q["median"] is None
            assert list(q["percentages"]) == list(q["counts"])
        if q["type"] == "single":
            assert sum(q["counts"].values()) == q["answered"]
            assert abs(sum(q["percentages"].values()) - 100) < 0.5
        if q["type"] == "text":
            assert q["counts"] == {} and isinstance(q["answers"], list)
        else:
            assert "answers" not in q
    q12 = questions[11]
    assert list(q12["counts"]) == [
        "GPT 3.5 Turbo", "GPT 4", "GPT 4 Turbo", "GPT 4o", "Gemini 1.5 Flash-8B",
        "Llama 3.2 3B Instruct", "Mixtral 8x7B Instruct", "Other",
    ]  # fmt: skip
    assert q12["percentages"]["GPT 4o"] == 40.0 and q12["percentages"]["Other"] == 40.0


def test_ratings_have_mean_and_median_and_text_is_listed(
    store: Store, study: str, export_csv: Path
) -> None:
    import_survey(store, study, export_csv)
    for rating in (1, 2):
        _platform_respondent(store, study, {**PLATFORM, "q13": rating})
    questions = _questions(store, study)
    q13 = questions[12]
    assert q13["type"] == "rating" and q13["answered"] == 7
    assert q13["mean"] == round((5 + 4 + 3 + 4 + 1 + 2) / 6, 4)  # "five" is Other, not a number
    assert q13["median"] == 3.5
    assert q13["counts"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 1, "Other": 1}
    assert questions[13]["answers"] == [
        "GPT-4o understands the context well.",
        "Llama is fast and free",
        "Mixtral for data analysis",
        "GPT 4o follows the context",
        "GPT 4o follows the context",
    ]
    assert questions[14]["answers"] == [
        "GPT 3.5 Turbo, it needed many fixes",
        "Mixtral invented APIs",
        "GPT 3.5 Turbo needed corrections",
        "GPT 3.5 Turbo needed corrections",
    ]
    assert questions[14]["answered"] == 4


def test_an_empty_study_summarises_to_zeros(store: Store, study: str) -> None:
    data = summarize_survey(store, study).to_dict()
    assert data["respondents"] == 0
    assert data["questions"][0]["counts"]["< 2"] == 0
    assert data["questions"][0]["percentages"]["< 2"] == 0.0
    assert data["questions"][12]["mean"] is None
