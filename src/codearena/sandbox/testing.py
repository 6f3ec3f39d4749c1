"""Run generated code against tests: Python test code, stdin/stdout examples, HumanEval checks."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from ._harness import PYTEST_SHIM, remote_source
from .languages import normalize_language
from .types import ExecResult, Limits, Sandbox, SandboxError, Verdict

TestKind = Literal["python", "io", "humaneval"]
_CANDIDATE_PROGRAM = "import codearena_remote\ncodearena_remote.candidate_main()\n"
_TEST_PROGRAM = "import codearena_remote\ncodearena_remote.test_main({args})\n"
_REPORT_LIMIT = 8 * 1024 * 1024


@dataclass
class TestSpec:
    """Tests for one program.

    * ``python``: ``code`` holds plain asserts or ``def test_*`` functions; the program under test
      is importable as module ``solution`` and its names are also visible to the tests.
    * ``io``: ``examples`` are (stdin, expected stdout) pairs; any language, one run per example.
    * ``humaneval``: ``code`` defines ``check(candidate)``; ``entry_point`` names the function.

    ``python`` and ``humaneval`` tests run in a process of their own and reach the program only
    through remote calls (see ``_remote``); ``prelude`` is trusted code the tests' process runs
    first (for HumanEval, the problem's prompt: its helpers then come from the problem, not
    from the candidate). ``call_timeout_s`` bounds each call (default: half the run's limit).
    """

    __test__ = False  # not a pytest test class

    kind: TestKind
    code: str = ""
    examples: list[tuple[str, str]] = field(default_factory=list)
    entry_point: str | None = None
    prelude: str = ""
    call_timeout_s: float | None = None


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


def _run_humaneval(
    sandbox: Sandbox, code: str, tests: TestSpec, limits: Limits | None
) -> ExecResult:
    if not tests.entry_point:
        raise SandboxError("humaneval tests need an entry_point")
    return run_remote(sandbox, code, tests, limits)


def _run_python(sandbox: Sandbox, code: str, tests: TestSpec, limits: Limits | None) -> ExecResult:
    return run_remote(sandbox, code, tests, limits)


def run_remote(
    sandbox: Sandbox, code: str, tests: TestSpec, limits: Limits | None = None
) -> ExecResult:
    """The candidate and its tests in two sandboxed processes joined by a plain-data channel
    (see ``_remote``); the verdict comes only from the test side's report."""
    limits = limits or Limits()
    call_timeout = tests.call_timeout_s or max(limits.timeout_s / 2, 0.5)
    runner_args = f"{tests.kind!r}, {call_timeout!r}, {tests.entry_point or ''!r}"
    candidate_side, test_side = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    report_r, report_w = os.pipe()
    cancel_r, cancel_w = os.pipe()
    report = _Collector(report_r, _REPORT_LIMIT)
    outcome: dict[str, ExecResult | BaseException] = {}

    def run_candidate() -> None:
        try:
            outcome["candidate"] = sandbox.run(
                _CANDIDATE_PROGRAM,
                "python",
                "",
                limits,
                {"solution.py": code, "codearena_remote.py": remote_source()},
                channels=[candidate_side.detach()],
                cancel_fd=cancel_r,
            )
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["candidate"] = exc

    test_files = {"test_solution.py": tests.code, "pytest.py": PYTEST_SHIM}
    test_files["codearena_remote.py"] = remote_source()
    if tests.prelude:
        test_files["prelude.py"] = tests.prelude
    thread = threading.Thread(target=run_candidate, name="codearena-candidate", daemon=True)
    try:
        thread.start()
        result = sandbox.run(
            _TEST_PROGRAM.format(args=runner_args),
            "python",
            "",
            limits.replace(artifact_count=0),  # images come from the candidate only
            test_files,
            channels=[test_side.detach(), report_w],
        )
    finally:
        os.write(cancel_w, b"x")  # the tests are over: end the candidate's run
        thread.join()
        os.close(cancel_w)
        os.close(cancel_r)
        with contextlib.suppress(OSError):
            candidate_side.close()
            test_side.close()
    data = report.result()
    candidate = outcome["candidate"]
    if isinstance(candidate, BaseException):
        raise candidate
    return _combine(result, candidate, data)


def _combine(test_side: ExecResult, candidate: ExecResult, data: bytes) -> ExecResult:
    """One result for the pair: the tests' report decides; the processes' output is joined."""
    report: dict[str, Any] | None
    try:
        report = json.loads(data) if data else None
    except ValueError:
        report = None
    passed = total = 0
    candidate_state = "ok"
    if isinstance(report, dict):
        passed, total = int(report.get("passed", 0)), int(report.get("total", 0))
        candidate_state = str(report.get("candidate", "ok"))
        details = [t for t in report.get("tests", []) if isinstance(t, dict)]
    else:
        details = []
    verdict: Verdict
    if report is None:  # the test side did not finish: its own verdict, but never "passed"
        verdict = test_side.verdict if test_side.verdict != "passed" else "error"
    elif report.get("import_error") or report.get("load_error"):
        verdict = "error"
    elif total > 0 and passed == total:
        verdict = "passed"
    elif candidate_state == "timeout" or candidate.verdict == "timeout":
        verdict = "timeout" if candidate_state != "ok" else "failed"
    elif candidate_state == "gone" and candidate.verdict in ("memory", "output_limit"):
        verdict = candidate.verdict
    elif total == 0 or all(t.get("reason") == "exception" for t in details if not t.get("ok")):
        verdict = "error"  # nothing ran, or every failure was a crash rather than an assertion
    else:
        verdict = "failed"
    stderr = "\n".join(t for t in (candidate.stderr.rstrip(), test_side.stderr.rstrip()) if t)
    return ExecResult(
        verdict=verdict,
        exit_code=candidate.exit_code if candidate.exit_code is not None else None,
        signal=candidate.signal,
        stdout=candidate.stdout + test_side.stdout,
        stderr=stderr + ("\n" if stderr else ""),
        duration_ms=round(max(test_side.duration_ms, candidate.duration_ms), 3),
        backend=test_side.backend,
        tests_passed=passed,
        tests_total=total or None,  # None: no test ran (the solution did not import, ...)
        isolated=test_side.isolated and candidate.isolated,
        language="python",
        details=details,
        artifacts=candidate.artifacts,
    )


class _Collector:
    """Reads a pipe to its end in a thread (the report must not block the test side)."""

    def __init__(self, fd: int, limit: int) -> None:
        self._fd, self._limit = fd, limit
        self._data = bytearray()
        self._thread = threading.Thread(target=self._read, name="codearena-report", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self._fd, 65536):
                if len(self._data) <= self._limit:
                    self._data += chunk
        finally:
            os.close(self._fd)

    def result(self) -> bytes:
        self._thread.join()
        return bytes(self._data) if len(self._data) <= self._limit else b""


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
        artifacts=shown.artifacts,
    )
