"""The verdict rule of a run without tests: exit 0 is ``ran``, never ``passed``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from codearena.answers import Program
from codearena.evaluation import execute, untested_verdict
from codearena.sandbox import ExecResult, Limits, TestSpec
from codearena.sandbox.types import AsyncRunMixin


def _result(verdict: str, exit_code: int | None = 0) -> ExecResult:
    return ExecResult(
        verdict=verdict,  # type: ignore[arg-type]
        exit_code=exit_code,
        signal=None,
        stdout="4\n",
        stderr="",
        duration_ms=1.0,
        backend="stub",
    )


class _Stub(AsyncRunMixin):
    """A backend that returns one fixed result, as a real one would for a lone program."""

    name = "stub"

    def __init__(self, result: ExecResult) -> None:
        self.result = result
        self.calls = 0

    def run(
        self,
        program: str,
        language: str,
        stdin: str = "",
        limits: Limits | None = None,
        files: dict[str, str] | None = None,
        *,
        channels: Sequence[int] = (),
        cancel_fd: int | None = None,
    ) -> ExecResult:
        self.calls += 1
        return dataclasses.replace(self.result)


PROGRAM = Program("print(2 + 2)\n", "python", 0)


def test_exit_zero_without_tests_is_ran_not_passed() -> None:
    sandbox = _Stub(_result("passed"))
    result = execute(sandbox, PROGRAM, None)
    assert (result.verdict, result.exit_code, result.passed) == ("ran", 0, False)
    assert (result.tests_passed, result.tests_total, result.stdout) == (None, None, "4\n")
    assert sandbox.calls == 1


@pytest.mark.parametrize(
    ("verdict", "exit_code"),
    [("error", 1), ("timeout", None), ("memory", None), ("compile_error", 1), ("output_limit", 0)],
)
def test_other_verdicts_without_tests_are_kept(verdict: str, exit_code: int | None) -> None:
    result = execute(_Stub(_result(verdict, exit_code)), PROGRAM, None)
    assert (result.verdict, result.exit_code) == (verdict, exit_code)


def test_untested_verdict_leaves_the_input_alone() -> None:
    given = _result("passed")
    assert untested_verdict(given).verdict == "ran" and given.verdict == "passed"


def test_a_run_against_tests_can_still_pass() -> None:
    from codearena.sandbox import get_sandbox

    spec = TestSpec("python", code="from solution import add\n\nassert add(2, 2) == 4\n")
    source = "def add(a, b):\n    return a + b\n"
    result = execute(get_sandbox("unisolated"), Program(source, "python", 0), spec)
    assert (result.verdict, result.tests_total) == ("passed", 1)
