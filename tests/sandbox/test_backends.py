from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codearena.sandbox import (
    BwrapSandbox,
    SandboxError,
    SandboxUnavailable,
    available_backends,
    get_sandbox,
)
from codearena.sandbox.cli import app


def test_missing_bwrap_raises_with_fix_hint() -> None:
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        get_sandbox("bwrap", bwrap_path="/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match="unprivileged_userns_clone"):
        BwrapSandbox("/nonexistent/bwrap").run("print(1)", "python")


def test_unknown_backend() -> None:
    assert {"bwrap", "unisolated"} <= set(available_backends())
    with pytest.raises(SandboxError, match="available"):
        get_sandbox("docker-maybe")


def test_unisolated_is_labelled() -> None:
    result = get_sandbox("unisolated").run("print('hi')", "python")
    assert result.verdict == "passed" and result.stdout == "hi\n"
    assert result.backend == "unisolated" and result.isolated is False
    assert "UNISOLATED" in result.stderr


def test_sandbox_package_does_not_import_store_web_gateway() -> None:
    """``sandbox/`` imports nothing else of codearena but the leaf ``codearena.terminal``."""
    code = (
        "import json, sys, codearena.sandbox, codearena.sandbox.cli\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('codearena.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for banned in ("codearena.store", "codearena.web", "codearena.gateway"):
        assert banned not in out.stdout
    loaded = json.loads(out.stdout)
    others = [m for m in loaded if not m.startswith("codearena.sandbox")]
    assert others == ["codearena.terminal"]


def test_cli_run_json_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "ok.py"
    good.write_text("print(input()[::-1])")
    given = tmp_path / "in.txt"
    given.write_text("abc\n")
    result = runner.invoke(app, ["run", str(good), "--stdin", str(given), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "passed" and data["stdout"] == "cba\n" and data["backend"] == "bwrap"
    bad = tmp_path / "bad.sh"
    bad.write_text("exit 4")
    result = runner.invoke(app, ["run", str(bad)])
    assert result.exit_code == 1 and "error" in result.stdout
    result = runner.invoke(app, ["run", str(tmp_path / "x.unknown")])
    assert result.exit_code == 2
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    result = runner.invoke(app, ["run", str(notes)])
    assert result.exit_code == 2 and "--lang" in result.output
    result = runner.invoke(
        app, ["run", str(notes), "--lang", "sh", "--timeout", "5", "--memory", "128"]
    )
    assert result.exit_code == 1  # 'hi' is not a command
