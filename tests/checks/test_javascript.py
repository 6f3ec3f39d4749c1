"""JavaScript: a node --check syntax check that parses and never runs the code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codearena.checks import ChecksUnavailable, check_code

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def test_valid_javascript() -> None:
    report = check_code(
        "function add(a, b) {\n  return a + b;\n}\n\nconsole.log(add(1, 2));\n", "js"
    )
    assert (report.language, report.syntax_ok, report.findings, report.lines) == (
        "javascript",
        True,
        [],
        4,
    )
    assert report.findings_per_100_lines == 0.0
    assert "node" in report.tool_versions


def test_es_module_syntax_is_valid() -> None:
    report = check_code(
        "import fs from 'fs';\nexport const a = fs.existsSync('.');\n", "javascript"
    )
    assert report.syntax_ok is True and report.findings == []


def test_syntax_error_is_one_finding_with_its_line() -> None:
    report = check_code("const a = 1;\nconst b = ;\nconsole.log(a);\n", "node")
    assert report.syntax_ok is False
    (finding,) = report.findings
    assert (finding.tool, finding.kind, finding.rule, finding.line) == (
        "node",
        "syntax",
        "syntax",
        2,
    )
    assert finding.message.startswith("SyntaxError")
    assert report.findings_per_100_lines == 0.0  # syntax findings are not lint/security


def test_the_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    source = f"require('fs').writeFileSync({str(marker)!r}, 'ran');\nprocess.exit(3);\n"
    report = check_code(source, "js")
    assert report.syntax_ok is True
    assert not marker.exists()


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("codearena.checks.javascript.shutil.which", lambda name: None)
    with pytest.raises(ChecksUnavailable, match=r"Node\.js"):
        check_code("1;", "js")
