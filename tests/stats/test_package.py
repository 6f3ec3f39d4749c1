"""The stats package stays pure: no imports of the store, the web app or the gateway."""

from __future__ import annotations

import ast
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
