"""``codearena export`` / ``codearena import``, mounted on a throwaway Typer, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from codearena.exports.cli import export_command, import_command
from codearena.store import Store
from tests.exports.data import StudyData, make_study


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("export")(export_command)
    app.command("import")(import_command)
    code = 0
    try:
        app(list(args), prog_name="codearena")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def data(env: Path, monkeypatch: pytest.MonkeyPatch) -> StudyData:
    url = f"sqlite:///{env / 'a.db'}"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    store = Store(url)
    made = make_study(store)
    store.dispose()
    return made


def test_export_then_import_into_another_database(
    data: StudyData, env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        capsys, "export", "--study", data.study_id, "--format", "jsonl", "--out", "x"
    )
    assert (code, err) == (0, "")
    assert f"exported study {data.study_id}" in out and "21 jsonl files" in out
    code, out, _ = run(
        capsys, "export", "--study", data.study_name, "--format", "csv", "--out", "y", "--json"
    )
    assert code == 0 and json.loads(out)["format"] == "csv"

    monkeypatch.setenv("CODEARENA_DATABASE_URL", f"sqlite:///{env / 'fresh' / 'b.db'}")
    code, out, err = run(capsys, "import", "x")
    assert (code, out.strip(), err) == (0, f"imported study {data.study_id}", "")
    code, _, err = run(capsys, "import", "x", "--format", "jsonl")
    assert code == 2 and f"error: study {data.study_id} already exists" in err
    code, _, err = run(capsys, "import", "y")
    assert code == 2 and "a csv export cannot be imported" in err


def test_export_errors_exit_2_and_leave_nothing(
    data: StudyData, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "export", "--study", "nope", "--format", "jsonl", "--out", "o")
    assert code == 2 and "error: no study with id or name 'nope'" in err
    code, _, err = run(capsys, "export", "--study", data.study_id, "--format", "xml", "--out", "o")
    assert code == 2 and "error: unknown format 'xml': use one of csv, jsonl, parquet" in err
    Path("file").write_text("x")
    code, _, err = run(
        capsys, "export", "--study", data.study_id, "--format", "csv", "--out", "file/sub"
    )
    assert code == 2 and "error: cannot write to" in err
    code, _, err = run(
        capsys,
        *("export", "--study", data.study_id, "--format", "csv", "--out", "o"),
        *("--pseudonyms", "random"),
    )
    assert code == 2 and "unknown --pseudonyms 'random'" in err
    assert not Path("o").exists() and not list(Path().glob(".o.*"))
    code, _, err = run(capsys, "import", "missing")
    assert code == 2 and "error: missing is not a directory" in err
    code, _, err = run(capsys, "import", ".", "--format", "xml")
    assert code == 2 and "unknown format 'xml'" in err
    code, _, err = run(capsys, "import", ".")
    assert code == 2 and "is not a codearena export: no manifest.json" in err


def test_a_salt_switches_to_keyed_hashes(
    data: StudyData, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("export", "--study", data.study_id, "--format", "jsonl", "--salt", "s3cret-salt")
    assert run(capsys, *args, "--out", "h1")[0] == 0
    assert run(capsys, *args, "--out", "h2")[0] == 0
    first = Path("h1/participants.jsonl").read_text()
    assert first == Path("h2/participants.jsonl").read_text() and '"id": "H-' in first
    manifest = Path("h1/manifest.json").read_text()
    assert "s3cret-salt" not in manifest and '"salt": "given"' in manifest
