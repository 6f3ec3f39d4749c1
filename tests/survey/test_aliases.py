"""Normalisation and answer matching: exact after normalisation, then aliases, never fuzzy."""

from __future__ import annotations

from pathlib import Path

import pytest

from codearena.survey import STUDY_2025, Question
from codearena.survey.aliases import (
    AliasError,
    Aliases,
    aliases_from_dict,
    check_targets,
    load_aliases,
    match_answer,
    normalize,
    other_option,
)

Q = {q.id: q for q in STUDY_2025.questions}
NONE = Aliases()


def test_normalize_ignores_case_spaces_newlines_quotes_and_trailing_punctuation() -> None:
    text = "What is the highest level of education you've completed?"
    for variant in (
        text.upper(),
        text.replace("'", "\u2019"),
        text + "\n",
        text.rstrip("?"),
        text.replace(" ", "\u00a0"),
        "  " + text.replace(" level", "  \u2003level") + " :",
        "\ufeff" + text,
    ):
        assert normalize(variant) == normalize(text)
    assert normalize("C#") != normalize("C##") != normalize("C")
    assert normalize("< 2") != normalize("2")


def test_single_choice_matches_exactly_and_unknowns_go_to_other() -> None:
    assert match_answer(Q["q3"], "India ", NONE).value == "India"  # type: ignore[union-attr]
    assert match_answer(Q["q3"], "united\u00a0STATES", NONE).value == "United States"  # type: ignore[union-attr]
    nepal = match_answer(Q["q3"], " Nepal\n", NONE)
    assert nepal is not None and (nepal.value, nepal.unknown) == ("Other", ["Nepal"])
    llama = match_answer(Q["q12"], "Llama 3.3 3b Instruct", NONE)
    assert llama is not None and llama.value == "Other"  # q12 has no Other option: still "Other"
    assert llama.unknown == ["Llama 3.3 3b Instruct"]
    close = match_answer(Q["q12"], "GPT4o", NONE)  # one space away: not guessed
    assert close is not None and close.value == "Other"
    assert match_answer(Q["q3"], "  ", NONE) is None
    chose_other = match_answer(Q["q2"], "Other", NONE)
    assert chose_other is not None and (chose_other.value, chose_other.unknown) == ("Other", [])


def test_multi_choice_splits_on_semicolons_once_per_option_in_option_order() -> None:
    matched = match_answer(Q["q6"], "PhP;Python;Python;Rust;rust;", NONE)
    assert matched is not None
    assert matched.value == ["Python", "PhP", "Other"]
    assert matched.unknown == ["Rust"]
    assert match_answer(Q["q6"], ";;", NONE) is None
    fixed = match_answer(Q["q6"], "C##;Java", Aliases({"c##": "C#"}))
    assert fixed is not None and (fixed.value, fixed.unknown) == (["Java", "C#"], [])


def test_ratings_parse_integers_in_range_only() -> None:
    assert match_answer(Q["q13"], "4", NONE).value == 4  # type: ignore[union-attr]
    assert match_answer(Q["q13"], " 5.0 ", NONE).value == 5  # type: ignore[union-attr]
    for bad in ("five", "4.5", "7", "0"):
        matched = match_answer(Q["q13"], bad, NONE)
        assert matched is not None and matched.value == "Other" and matched.unknown == [bad]
    assert match_answer(Q["q13"], "Five", Aliases({"five": "5"})).value == 5  # type: ignore[union-attr]


def test_free_text_is_kept_as_written() -> None:
    assert match_answer(Q["q14"], "  GPT 4o; fast\n", NONE).value == "GPT 4o; fast"  # type: ignore[union-attr]


def test_an_other_style_option_collects_unknown_answers() -> None:
    question = Question("x", "Role?", "single", ("Developer", "Other (please specify)"))
    assert other_option(question) == "Other (please specify)"
    matched = match_answer(question, "Designer", NONE)
    assert matched is not None and matched.value == "Other (please specify)"
    assert matched.unknown == ["Designer"]


def test_alias_files_are_flat_case_insensitive_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[aliases]\n"Project Manage" = "Project Manager"\n', encoding="utf-8")
    aliases = load_aliases(path)
    assert aliases.lookup("PROJECT manage ") == "Project Manager"
    check_targets(aliases, STUDY_2025.questions)
    n_a = aliases_from_dict({"aliases": {"N/A": "Other"}}, "t")
    silenced = match_answer(Q["q3"], "n/a", n_a)
    assert silenced is not None and (silenced.value, silenced.unknown) == ("Other", [])
    for data, message in [
        ({"alias": {}}, "[aliases]"),
        ({"aliases": {"x": 1}}, "must map to an option"),
        ({"aliases": {"x": "A"}, "more": {}}, "unknown table"),
        ({"aliases": {"C##": "C#", "c##": "C"}}, "given twice"),
    ]:
        with pytest.raises(AliasError, match=message):
            aliases_from_dict(data, "t")
    with pytest.raises(AliasError, match="not an option of any question"):
        check_targets(
            aliases_from_dict({"aliases": {"x": "Project Managr"}}, "t"), STUDY_2025.questions
        )
    path.write_text("[aliases\n", encoding="utf-8")
    with pytest.raises(AliasError, match="invalid TOML"):
        load_aliases(path)
    with pytest.raises(AliasError, match="cannot read"):
        load_aliases(tmp_path / "missing.toml")
