"""The stats package stays pure (no imports of the store, the web app or the gateway) and imports
its scipy modules lazily: every public name resolves, and the package with pass@k does not load
scipy (a second of start-up for ``codearena bench``)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import codearena.stats

PACKAGE = Path(codearena.stats.__file__).parent


def test_no_imports_of_store_or_web() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level >= 2:  # from .. import store
                base = "codearena." + (node.module or "")
                names = [base.rstrip(".")] + [
                    f"{base}.{a.name}".replace("..", ".") for a in node.names
                ]
            for name in names:
                assert not name.startswith(("codearena.store", "codearena.web")), path


def test_public_api_is_importable() -> None:
    for name in codearena.stats.__all__:
        assert getattr(codearena.stats, name) is not None


def test_every_public_name_resolves_to_its_module() -> None:
    for name in codearena.stats.__all__:
        home = (
            codearena.stats._HOME.get(name)
            or getattr(codearena.stats, name).__module__.rsplit(".", 1)[1]
        )
        module = importlib.import_module(f"codearena.stats.{home}")
        assert getattr(codearena.stats, name) is getattr(module, name), name


def test_names_shared_with_their_module_stay_functions() -> None:
    """Importing a submodule sets the package attribute of its name: the package imports those
    modules itself, so the names stay the functions whatever is imported later."""
    importlib.import_module("codearena.stats.leaderboard")
    importlib.import_module("codearena.stats.bradley_terry")
    importlib.import_module("codearena.stats.breakdown")
    importlib.import_module("codearena.stats.style_control")
    assert callable(codearena.stats.bradley_terry) and callable(codearena.stats.leaderboard)
    assert callable(codearena.stats.breakdown) and callable(codearena.stats.style_control)


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        codearena.stats.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_pass_at_k_does_not_import_scipy() -> None:
    code = (
        "import sys\n"
        "import codearena.stats\n"
        "from codearena.stats.passk import pass_at_k\n"
        "assert pass_at_k(2, 1, 1) == 0.5\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
