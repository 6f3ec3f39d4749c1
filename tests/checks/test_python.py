"""Python checks: ruff lint by rule, bandit findings with severity/confidence/CWE, syntax."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from codearena.checks import RUFF_RULES, CheckReport, Finding, check_code
from codearena.checks import python as python_checks

CLEAN = '''"""A clean module."""


def add(a: int, b: int) -> int:
    """Return the sum."""
    return a + b
'''


def _security(report: CheckReport, rule: str) -> Finding:
    matches = [f for f in report.findings if f.kind == "security" and f.rule == rule]
    assert len(matches) == 1, report.findings
    return matches[0]


def test_clean_snippet_has_no_findings() -> None:
    report = check_code(CLEAN, "python")
    assert report.findings == []
    assert report.syntax_ok is True
    assert report.lines == 4
    assert report.findings_per_100_lines == 0.0
    assert report.language == "python"


def test_unused_import_is_counted_by_rule() -> None:
    report = check_code("import os\nimport sys\n\nprint(sys.argv)\n", "py")
    assert report.lint_by_rule() == {"F401": 1}
    (finding,) = report.findings
    assert finding == Finding("ruff", "lint", "F401", None, None, None, 1, finding.message)
    assert "os" in finding.message
    assert report.lint_count == 1 and report.security_count == 0


def test_rule_counts_add_up() -> None:
    source = "import os\nimport re\nimport json\n\n\ndef f():\n    x = 1\n"
    report = check_code(source, "python")
    assert report.lint_by_rule() == {"F401": 3, "F841": 1}
    assert report.lint_count == 4
    assert report.findings_per_100_lines == pytest.approx(4 * 100 / 5)


def test_shell_true_is_high_severity_cwe_78() -> None:
    report = check_code(
        "import subprocess\n\n\ndef run(x):\n    subprocess.call(x, shell=True)\n", "python"
    )
    finding = _security(report, "B602")
    assert (finding.severity, finding.confidence, finding.cwe, finding.line) == (
        "HIGH",
        "HIGH",
        78,
        5,
    )
    assert _security(report, "B404").cwe == 78  # importing subprocess is a LOW finding
    assert report.lint_count == 0


def test_eval_of_input_is_b307() -> None:
    finding = _security(check_code("print(eval(input()))\n", "python"), "B307")
    # bandit maps its blacklisted calls (eval included) to CWE-78.
    assert (finding.severity, finding.confidence, finding.cwe) == ("MEDIUM", "HIGH", 78)


def test_deserialisation_findings() -> None:
    source = (
        "import pickle\n\nimport yaml\n\n\ndef load(b):\n    return pickle.loads(b), yaml.load(b)\n"
    )
    report = check_code(source, "python")
    pickle_call = _security(report, "B301")
    assert (pickle_call.severity, pickle_call.cwe, pickle_call.line) == ("MEDIUM", 502, 7)
    assert _security(report, "B403").cwe == 502  # import pickle
    yaml_load = _security(report, "B506")
    # bandit files yaml.load under CWE-20 (improper input validation), not 502.
    assert (yaml_load.severity, yaml_load.confidence, yaml_load.cwe) == ("MEDIUM", "HIGH", 20)
    assert report.cwe_ids == [20, 502]


def test_hardcoded_password() -> None:
    report = check_code('PASSWORD = "hunter2"\nprint(PASSWORD)\n', "python")
    finding = _security(report, "B105")
    assert (finding.severity, finding.confidence, finding.cwe) == ("LOW", "MEDIUM", 259)
    assert "hunter2" in finding.message


def test_noqa_and_nosec_comments_do_not_hide_findings() -> None:
    source = "import os  # noqa\nimport subprocess  # nosec\n\nsubprocess.call('ls', shell=True)  # nosec\n"
    report = check_code(source, "python")
    assert report.lint_by_rule() == {"F401": 1}
    assert {"B404", "B602"} <= {f.rule for f in report.findings if f.kind == "security"}


def test_asserts_are_not_security_findings() -> None:
    report = check_code("def f(x):\n    return x\n\n\nassert f(1) == 1\n", "python")
    assert report.findings == []


def test_syntax_error_is_reported_without_crashing() -> None:
    report = check_code("def f(:\n    return 1\n", "python")
    assert report.syntax_ok is False
    assert report.findings == [
        Finding("python", "syntax", "syntax", None, None, None, 1, report.findings[0].message)
    ]
    assert report.lint_count == report.security_count == 0
    assert report.findings_per_100_lines == 0.0
    assert report.complexity_max is None and report.complexity_mean is None


@pytest.mark.parametrize(
    "source",
    [
        "return 1\n",  # valid grammar, rejected by the compiler
        "a\x00b\n",
        "x = " + "(" * 300 + ")" * 300 + "\n",
        "x = 1" + " + 1" * 200_000 + "\n",
        "if True:\nprint(1)\n",
    ],
)
def test_code_the_compiler_rejects(source: str) -> None:
    report = check_code(source, "python")
    assert report.syntax_ok is False
    assert [f.kind for f in report.findings] == ["syntax"]


def test_compiler_warnings_do_not_break_the_check() -> None:
    # Under pytest warnings are errors; the SyntaxWarning / DeprecationWarning must stay inside.
    source = 'import re\n\nx = 1\nprint(x is 1, re.compile("\\d"))\n'
    before = list(warnings.filters)
    report = check_code(source, "python")
    assert report.syntax_ok is True
    assert "F632" in report.lint_by_rule()  # `is` with a literal
    assert list(warnings.filters) == before


def test_the_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    source = (
        "import os\nimport pathlib\n\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        f"os.system('touch {marker}')\n"
        "raise SystemExit(3)\n"
    )
    report = check_code(source, "python")
    assert not marker.exists()
    assert report.syntax_ok is True
    assert "B605" in {f.rule for f in report.findings}  # os.system with a shell


def test_ruff_failure_becomes_a_tool_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_checks, "ruff_executable", lambda: "/bin/false")
    report = check_code("import subprocess\n", "python")
    kinds = sorted(f.kind for f in report.findings)
    assert kinds == ["security", "tool_error"]
    (error,) = [f for f in report.findings if f.kind == "tool_error"]
    assert error.tool == "ruff" and "ruff failed" in error.message


def test_rule_selection_is_pinned_and_leaves_security_to_bandit() -> None:
    assert "S" not in RUFF_RULES and "C90" not in RUFF_RULES
    assert {"E", "F", "W", "B"} <= set(RUFF_RULES)
