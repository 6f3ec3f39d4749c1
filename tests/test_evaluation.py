"""The verdict rule of a run without tests: exit 0 is ``ran``, never ``passed``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from codearena.answers import Program
from codearena.evaluation import execute, record_execution, untested_verdict
from codearena.sandbox import Artifact, ExecResult, Limits, TestSpec
from codearena.sandbox.types import AsyncRunMixin
from codearena.store import Store
from codearena.store.models import ExecutionArtifact, Generation, Task


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


def test_a_runs_images_are_stored_with_the_execution(database_url: str) -> None:
    store = Store(database_url)
    with store.session() as session:
        task = Task(prompt="plot it", prompt_style="plain")
        session.add(task)
        session.flush()
        generation = Generation(task_id=task.id, position=0, model="x/one", provider="fake")
        session.add(generation)
        session.flush()
        task_id, generation_id = task.id, generation.id
    result = ExecResult(
        "ran", 0, None, "", "", 5.0, "bwrap",
        artifacts=[
            Artifact("a.svg", "image/svg+xml", 6, b"<svg/>"),
            Artifact("b.png", "image/png", 9_000_000, b"", "over the run's 2 MB image bytes"),
        ],
    )  # fmt: skip
    execution_id = record_execution(
        store,
        task_id=task_id,
        generation_id=generation_id,
        program=None,
        language="python",
        tests=None,
        result=result,
        source="cli",
    )
    with store.session() as session:
        rows = session.scalars(
            select(ExecutionArtifact)
            .where(ExecutionArtifact.execution_id == execution_id)
            .order_by(ExecutionArtifact.position)
        ).all()
        stored = [(r.name, r.size_bytes, r.data_base64, r.sha256 is not None, r.note) for r in rows]
    assert stored == [
        ("a.svg", 6, "PHN2Zy8+", True, None),
        ("b.png", 9_000_000, None, False, "over the run's 2 MB image bytes"),
    ]
    store.dispose()
