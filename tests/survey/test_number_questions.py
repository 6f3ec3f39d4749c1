"""Numeric questions: validated, imported from form exports, summarised by mean and median."""

from __future__ import annotations

from pathlib import Path

import pytest

from codearena.store import Store
from codearena.store.platform_models import Participant, Study, SurveyAnswer
from codearena.survey.aliases import Aliases, match_answer
from codearena.survey.instruments import InstrumentError, instrument_from_dict, parse_number
from codearena.survey.summary import summarize_survey

INSTRUMENT = instrument_from_dict(
    {
        "name": "team",
        "questions": [
            {"id": "years", "text": "Years of experience?", "kind": "number", "max": 60},
            {"id": "team", "text": "Team size?", "kind": "number"},
        ],
    },
    "test",
)


def test_number_answers_are_validated() -> None:
    years = INSTRUMENT.question("years")
    assert years.validate("7") == 7 and years.validate(2.5) == 2.5 and years.validate("1,5") == 1.5
    for bad in ("many", 61, -1, True, float("nan")):
        with pytest.raises(InstrumentError, match="number from 0 to 60"):
            years.validate(bad)
    assert parse_number("inf") is None


def test_imported_numbers_and_unknown_text() -> None:
    years = INSTRUMENT.question("years")
    aliases = Aliases({"ten": "10"})
    assert match_answer(years, " 12 ", aliases).value == 12
    assert match_answer(years, "Ten", aliases).value == 10
    unknown = match_answer(years, "a decade", aliases)
    assert unknown.value == "Other" and unknown.unknown == ["a decade"]


def test_summary_gives_mean_and_median(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with store.session() as s:
        study = Study(
            name="n", models=[], mode="named", survey_name="team", survey=INSTRUMENT.to_dict()
        )
        s.add(study)
        s.flush()
        for n, value in enumerate((2, 4, 9, "lots")):
            pid = f"P-N{n}"
            s.add(Participant(id=pid, study_id=study.id, pseudonym=pid))
            s.add(
                SurveyAnswer(
                    study_id=study.id, participant_id=pid, question_id="years", value=value
                )
            )
        study_id = study.id
    years = summarize_survey(store, study_id).to_dict()["questions"][0]
    assert years["type"] == "number" and years["answered"] == 4
    assert years["mean"] == pytest.approx(5.0) and years["median"] == 4.0
    assert years["counts"] == {"Other": 1}
