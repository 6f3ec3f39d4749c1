"""The README documents every command, option group and setting a user relies on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from codearena.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: Any, prefix: str) -> list[str]:
    names = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        names.append(path)
        if hasattr(command, "commands"):
            names.extend(_commands(command, path))
    return names


def test_every_command_is_in_the_readme() -> None:
    root: Any = typer.main.get_command(app)
    missing = [c for c in _commands(root, "codearena") if f"`{c}" not in README]
    assert missing == []


def test_every_generate_option_is_in_the_readme() -> None:
    root: Any = typer.main.get_command(app)
    generate = root.commands["generate"]
    options = [o for p in generate.params for o in p.opts if o.startswith("--")]
    assert [o for o in options if f"`{o}" not in README and o != "--model"] == []


def test_every_environment_variable_read_by_the_code_is_documented() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "codearena").rglob("*.py"))
    used = set(re.findall(r"[\"']((?:CODEARENA|OPENROUTER|OPENAI|OLLAMA)_[A-Z_]+)[\"']", source))
    documented = set(re.findall(r"\b((?:CODEARENA|OPENROUTER|OPENAI|OLLAMA)_[A-Z_]+)\b", README))
    assert used - documented == set()


def test_the_readme_opens_with_the_two_commands() -> None:
    head = README.split("## ", 1)[0]
    assert "bash scripts/serve.sh" in head and "bash scripts/test.sh" in head
    for script in ("serve.sh", "test.sh"):
        assert (ROOT / "scripts" / script).is_file()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
