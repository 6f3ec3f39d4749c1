"""Errors a user can act on: one ``CodearenaError`` tree, caught once in ``main``.

A database that cannot be opened (a file that is not one, a folder in the way, a PostgreSQL
server that does not answer) gives one ``error:`` line and exit status 2 from every command
that opens it, never a traceback.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import codearena.errors
from codearena.cli import user_error
from codearena.cli.generate import GenerateRequest, run_generate
from codearena.coding.errors import CodebookError, CodingError, CodingNotFound
from codearena.config import ConfigError
from codearena.errors import BAD_INPUT, FAILURE, CodearenaError
from codearena.exports.export import ExportError
from codearena.exports.importer import ImportFailure as ExportImportFailure
from codearena.pipeline import InputError
from codearena.sandbox import SandboxError, SandboxUnavailable
from codearena.store import StoreError
from codearena.store.repo import StudyNotFound
from codearena.suites import SuiteError
from codearena.survey.aliases import AliasError
from codearena.survey.importer import ImportFailure as SurveyImportFailure
from codearena.survey.instruments import InstrumentError
from tests.conftest import unique
from tests.test_cli import run

# Every command that opens the database, with the arguments it needs to get that far.
OPENS_THE_DATABASE = [
    ["history"],
    ["models", "--json"],
    ["db", "upgrade"],
    ["generate", "Write add", "-m", "openai/gpt-4"],
    ["bench", "humaneval", "-m", "reference", "--limit", "1"],
    ["study", "list"],
    ["survey", "summary", "--study", "s"],
    ["leaderboard", "--study", "s"],
    ["votes", "import", "votes.csv", "--study", "s"],
    ["export", "--study", "s", "--format", "csv", "--out", "out"],
    ["import", "."],
    ["coding", "codebook", "export", "--study", "s", "--out", "-"],
    ["report", "--study", "s", "--out", "out"],
]


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args", OPENS_THE_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_a_file_that_is_not_a_database_is_one_clear_line(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    notes = env / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n" * 20)
    monkeypatch.setenv("CODEARENA_DATABASE_URL", f"sqlite:///{notes}")
    (env / "votes.csv").write_text("model_a,model_b,winner\na,b,a\n")
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert str(notes) in line and "file is not a database" in line
    assert "CODEARENA_DATABASE_URL" in line
    assert notes.read_text().startswith("shopping list"), "the file is left as it was"


def test_a_file_in_the_way_of_the_database_folder(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = env / "data"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CODEARENA_DATABASE_URL", f"sqlite:///{blocker}/arena.db")
    code, _, err = run(capsys, "history")
    line = _one_error_line(err)
    assert code == 2 and "cannot create the folder" in line and "CODEARENA_DATABASE_URL" in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def test_an_unreachable_postgresql_server_is_one_clear_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://arena:hunter2@127.0.0.1:{_closed_port()}/arena"
    monkeypatch.setenv("CODEARENA_DATABASE_URL", url)
    for args in (["history"], ["db", "upgrade"], ["survey", "summary", "--study", "s"]):
        code, _, err = run(capsys, *args)
        line = _one_error_line(err)
        assert code == 2 and "hunter2" not in line and "arena:***@127.0.0.1" in line
        assert "refused" in line and "CODEARENA_DATABASE_URL" in line


def test_the_entry_point_prints_the_line_not_a_traceback(env: Path) -> None:
    notes = env / "notes.txt"
    notes.write_text("not a database\n")
    environ = {**os.environ, "CODEARENA_DATABASE_URL": f"sqlite:///{notes}"}
    done = subprocess.run(
        [sys.executable, "-m", "codearena", "history"], env=environ, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "file is not a database" in _one_error_line(done.stderr)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("x"),
        InputError("x"),
        StoreError("x"),
        StudyNotFound("x"),
        SuiteError("x"),
        CodingError("x"),
        CodingNotFound("x"),
        CodebookError(["line 2: no code"]),
        ExportError("x"),
        ExportImportFailure("x"),
        SurveyImportFailure("x"),
        AliasError("x"),
        InstrumentError("x"),
    ],
    ids=lambda e: type(e).__qualname__,
)
def test_every_domain_error_is_a_codearena_error_for_bad_input(error: Exception) -> None:
    assert isinstance(error, CodearenaError) and error.exit_code == BAD_INPUT
    assert user_error(error) is error


def test_the_domain_errors_keep_their_builtin_bases() -> None:
    assert issubclass(InputError, ValueError) and issubclass(SuiteError, ValueError)
    assert issubclass(StudyNotFound, LookupError) and issubclass(CodingError, ValueError)
    assert CodingNotFound("x").status == 404, "the web layer's status is untouched"


def test_errors_is_a_leaf_module() -> None:
    tree = ast.parse(Path(codearena.errors.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("codearena") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("codearena")


def test_sandbox_errors_are_translated_and_bugs_are_not() -> None:
    for error in (SandboxError("no such backend"), SandboxUnavailable("install bubblewrap")):
        translated = user_error(error)
        assert translated is not None and translated.exit_code == BAD_INPUT
        assert str(translated) == str(error)
    assert user_error(RuntimeError("a bug")) is None
    assert user_error(KeyError("a bug")) is None
    assert CodearenaError("failed", exit_code=FAILURE).exit_code == 1


def test_an_unknown_sandbox_backend_exits_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "humaneval", "-m", "reference", "--backend", "nosuch")
    assert code == 2 and "unknown sandbox backend 'nosuch'" in _one_error_line(err)


def test_generate_exits_1_with_a_line_when_every_model_failed(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "generate", "Write add", "-m", unique("error-401"), "--json")
    assert code == FAILURE and "every model failed" in _one_error_line(err)
    assert json.loads(out)["results"][0]["status"] == "error"


def test_run_generate_takes_a_request(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = unique("ok")
    request = GenerateRequest(
        task="Write add(a, b)",
        models=(model,),
        requirement="Generate code",
        tone="Direct",
        temperature=0.5,
        language="Python",
    )
    run_generate(request, as_json=True)
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["model"] == model and result["status"] == "ok"
    with pytest.raises(AttributeError):
        request.task = "changed"  # type: ignore[misc]
