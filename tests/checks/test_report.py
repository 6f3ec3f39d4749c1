"""CheckReport arithmetic, serialisation, language dispatch, the async wrapper, missing tools."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from codearena.checks import CheckReport, ChecksUnavailable, Finding, acheck_code, check_code


def _finding(kind: str, rule: str, cwe: int | None = None) -> Finding:
    return Finding("t", kind, rule, None, None, cwe, 1, "m")


def test_findings_per_100_lines_counts_lint_and_security_only() -> None:
    findings = [
        _finding("lint", "F401"),
        _finding("lint", "F401"),
        _finding("lint", "E711"),
        _finding("security", "B602", 78),
        _finding("syntax", "syntax"),
        _finding("tool_error", "tool_error"),
    ]
    report = CheckReport("python", 80, findings, True, 3.0, 2.0)
    assert report.lint_count == 3 and report.security_count == 1
    assert report.findings_per_100_lines == 5.0
    assert report.lint_by_rule() == {"F401": 2, "E711": 1}
    assert report.security_by_rule() == {"B602": 1}
    assert CheckReport("python", 0, findings, True, None, None).findings_per_100_lines is None


def test_to_dict_is_json_ready() -> None:
    report = check_code("import os\n", "python")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["lint_by_rule"] == {"F401": 1}
    assert data["findings_per_100_lines"] == 100.0
    assert data["findings"][0]["rule"] == "F401"
    assert set(data["tool_versions"]) == {"ruff", "bandit"}


def test_lines_are_non_blank_lines() -> None:
    report = check_code("\n\nx = 1\n   \n# comment\ny = x\n\n", "python")
    assert report.lines == 3


@pytest.mark.parametrize("language", ["rust", "Go", "c++", None, ""])
def test_other_languages_get_only_a_line_count(language: str | None) -> None:
    report = check_code("fn main() {\n\n  eval(input())\n}\n", language)
    assert (report.lines, report.findings, report.syntax_ok) == (3, [], None)
    assert report.findings_per_100_lines == 0.0


def test_language_aliases() -> None:
    assert check_code("x = 1\n", "Python3").language == "python"
    assert check_code("x = 1\n", "rust").language == "rust"
    assert check_code("x = 1\n", None).language is None


async def test_acheck_code_runs_concurrently() -> None:
    sources = [f"import os\nx{i} = eval(input())\n" for i in range(8)]
    reports = await asyncio.gather(*(acheck_code(s, "python") for s in sources))
    for report in reports:
        assert report.lint_by_rule() == {"F401": 1}
        assert [f.rule for f in report.findings if f.kind == "security"] == ["B307"]


def test_missing_bandit_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bandit", None)
    with pytest.raises(ChecksUnavailable, match="pip install bandit"):
        check_code("x = 1\n", "python")


def test_missing_ruff_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/bin/python")
    monkeypatch.setitem(sys.modules, "ruff", None)
    monkeypatch.setitem(sys.modules, "ruff.__main__", None)
    monkeypatch.setattr("codearena.checks.python.shutil.which", lambda name: None)
    with pytest.raises(ChecksUnavailable, match="pip install ruff"):
        check_code("x = 1\n", "python")
