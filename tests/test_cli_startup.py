"""Start-up of the ``codearena`` command: ``--help`` imports only what it shows.

Every test runs ``python -X importtime -m codearena ... --help`` as a fresh process and reads
the modules it imported from ``-X importtime``'s report; nothing here measures time (that is
``bench/cli_startup.py``).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from codearena.cli import COMMANDS, app
from codearena.cli.lazy import LazyCommands

# Stacks no ``--help`` needs. (Typer itself imports Rich, ``rich.markdown`` and markdown-it to
# render help, and pydantic to build a command's options; those are not codearena's to avoid.)
HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "httpx",
    "httpcore",
    "numpy",
    "scipy",
    "matplotlib",
    "pandas",
    "pyarrow",
    "openpyxl",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "argon2",
    "codearena.store",
    "codearena.gateway",
    "codearena.pipeline",
    "codearena.evaluation",
    "codearena.stats",
    "codearena.web.app",
)


def imported_by(*args: str) -> set[str]:
    """The modules ``python -m codearena ARGS`` imports, from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "codearena", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    } - {"package"}


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def _paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if hasattr(command, "commands"):
            paths.extend(_paths(command, (*prefix, name)))
    return paths


def _every_command() -> list[tuple[str, ...]]:
    return _paths(typer.main.get_command(app))


def test_top_level_help_imports_no_command() -> None:
    modules = imported_by("--help")
    assert heavy_in(modules) == []
    ours = {m for m in modules if m.startswith("codearena")}
    assert ours == {"codearena", "codearena.cli", "codearena.cli.lazy", "codearena.errors"}


@pytest.mark.parametrize("path", _every_command())
def test_command_help_imports_no_heavy_stack(path: tuple[str, ...]) -> None:
    assert heavy_in(imported_by(*path, "--help")) == []


def test_the_listing_is_what_each_command_says_of_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """``codearena --help`` lists the commands from ``COMMANDS`` without importing them; with
    every command imported it must read the same."""
    runner = CliRunner()
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    monkeypatch.setattr(LazyCommands, "summary", LazyCommands.__getitem__)
    loaded = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert listed.exit_code == loaded.exit_code == 0
    assert listed.output == loaded.output
    root: Any = typer.main.get_command(app)
    assert [c.name for c in COMMANDS] == list(root.commands)


def test_an_unknown_command_is_refused_with_a_suggestion() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codearena", "generat"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "'generate'" in done.stderr


def test_sandbox_run_starts_without_the_store(tmp_path: Any) -> None:
    """``codearena sandbox run`` needs the settings and the sandbox, not the database."""
    program = tmp_path / "hello.py"
    program.write_text("print('hi')\n")
    modules = imported_by("sandbox", "run", str(program))
    assert {"codearena.sandbox.types", "codearena.sandboxes"} <= modules
    unwanted = ("sqlalchemy", "alembic", "httpx", "codearena.store", "codearena.evaluation")
    assert [m for m in modules if m.split(".")[0] in unwanted or m in unwanted] == []


def test_the_web_app_loads_no_scipy_and_hashes_no_password() -> None:
    """``codearena serve`` pays neither for scipy.stats (about 70 MB, needed only when an
    interval is computed) nor for argon2's 64 MB dummy hash (made on the first login of an
    unknown account) before they are used: both would stay in the peak RSS of a server that
    only answers API calls."""
    code = (
        "import sys, codearena.web.app\n"
        "from codearena.web import auth\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
        "print(auth._dummy_hash.cache_info().currsize)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    scipy_modules, hashes = done.stdout.splitlines()
    assert scipy_modules == "[]"
    assert hashes == "0"
