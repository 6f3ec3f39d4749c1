"""``codearena survey import|summary`` in-process, through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from codearena.store import Store
from tests.survey.conftest import counts, make_study
from tests.test_cli import run


@pytest.fixture
def db(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    url = f"sqlite:///{env / 'cli.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    yield store
    store.dispose()


def test_import_and_summary_json(
    db: Store,
    export_csv: Path,
    aliases_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    study = make_study(db, "cli study")
    code, out, err = run(capsys, "survey", "import", str(export_csv), "--study", study, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["respondents"] == 5 and report["replaced"] == 0
    assert report["unmatched_columns"] == ["Timestamp"]
    assert report["unknown_answers"]["12"] == {"Llama 3.3 3b Instruct": 2}
    args = ("survey", "import", str(export_csv), "--study", "cli study")
    code, out, _ = run(capsys, *args, "--aliases", str(aliases_file), "--json")
    assert code == 0
    again = json.loads(out)
    assert again["replaced"] == 5 and "12" not in again["unknown_answers"]
    code, out, _ = run(capsys, "survey", "summary", "--study", study, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["respondents"] == 5
    assert summary["questions"][11]["counts"]["Llama 3.2 3B Instruct"] == 2


def test_readable_output(db: Store, export_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = make_study(db)
    code, out, _ = run(capsys, "survey", "import", str(export_csv), "--study", study)
    assert code == 0
    assert "imported 5 respondents" in out and "Timestamp" in out
    assert "'Llama 3.3 3b Instruct'" in out and "alias" in out
    code, out, _ = run(capsys, "survey", "summary", "--study", study)
    assert code == 0
    assert "5 respondents" in out and "mean 4.00  median 4" in out
    assert "60.0%  Python" in out and "- Mixtral invented APIs" in out


def test_errors_exit_2_and_change_nothing(
    db: Store, export_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = make_study(db)
    assert run(capsys, "survey", "import", str(export_csv), "--study", study)[0] == 0
    before = counts(db, study)
    bad_alias = tmp_path / "bad.toml"
    bad_alias.write_text("aliases = 3\n", encoding="utf-8")
    for args, message in [
        (("import", str(export_csv), "--study", "nope"), "no study with id or name 'nope'"),
        (("summary", "--study", "nope"), "no study"),
        (("import", str(tmp_path / "gone.csv"), "--study", study), "no such file"),
        (("import", str(export_csv), "--study", study, "--sheet", "A"), "--sheet applies"),
        (("import", str(export_csv), "--study", study, "--aliases", str(bad_alias)), "[aliases]"),
    ]:
        code, out, err = run(capsys, "survey", *args)
        assert code == 2 and message in err and out == ""
        assert "Traceback" not in err
    assert counts(db, study) == before
    code, _, err = run(capsys, "survey", "import", str(export_csv))
    assert code == 2 and "--study" in err  # a missing option is a usage error too


def test_readable_output_tells_how_to_use_a_suggestion_and_escapes_headers(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.survey.conftest import HEADERS, ROWS, T, write_csv

    study = make_study(db, "suggestions")
    headers = list(HEADERS)
    headers[1] = T[0].replace("experience", "experiance") + "\x1b[2J"
    path = write_csv(tmp_path / "typo.csv", headers, ROWS)
    code, out, err = run(capsys, "survey", "import", str(path), "--study", study)
    assert code == 0, err
    assert "questions that got no column: 1" in out
    assert "suggestion (not applied)" in out and "add under [columns]" in out
    assert "\x1b" not in out and "\\x1b[2J" in out
