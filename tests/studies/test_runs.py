"""The program a Run executes, the stored execution and the sandbox's failures as domain errors."""

from __future__ import annotations

from typing import Any

import pytest

from codearena import evaluation
from codearena.sandbox import ExecResult, SandboxError, SandboxUnavailable, UnisolatedSandbox
from codearena.store.models import Execution
from codearena.store.platform_models import StudyExecution
from codearena.studies import runs
from codearena.studies.errors import RunUnavailable, StudyError, UnknownItem
from tests.studies.conftest import World

TESTS = {"kind": "python", "code": "assert True\n", "examples": []}


def _passed(*_: Any, **__: Any) -> ExecResult:
    return ExecResult(
        verdict="passed",
        exit_code=0,
        signal=None,
        stdout="1\n",
        stderr="",
        duration_ms=1.0,
        backend="stub",
    )


async def test_a_run_is_planned_executed_and_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = world.study()
    person = world.participant(study)
    row = world.task(study, person, tests=TESTS)
    plan = runs.plan_run(world.store, row, 0, 0)
    assert (plan.language, plan.tests and plan.tests.kind) == ("python", "python")

    async def fake(*args: Any) -> ExecResult:
        return _passed()

    monkeypatch.setattr(evaluation, "aexecute", fake)
    outcome = await runs.execute_run(world.store, UnisolatedSandbox(), plan, timeout_s=1.0)
    assert outcome.result.verdict == "passed" and outcome.language == "python"
    with world.store.session() as session:
        execution = session.get(Execution, outcome.execution_id)
        assert execution is not None and execution.source == "web"
        link = session.query(StudyExecution).one()
        assert (link.study_task_id, link.position) == (row.id, 0)


def test_an_answer_without_that_block_is_unknown(world: World) -> None:
    study = world.study()
    row = world.task(study, world.participant(study))
    with pytest.raises(UnknownItem, match="no code block 3"):
        runs.plan_run(world.store, row, 0, 3)


@pytest.mark.parametrize(
    ("raised", "error", "message"),
    [
        (SandboxUnavailable("no bwrap"), RunUnavailable, "not available on this server: no bwrap"),
        (SandboxError("bad program"), StudyError, "bad program"),
    ],
)
async def test_sandbox_failures_are_domain_errors(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    raised: Exception,
    error: type[Exception],
    message: str,
) -> None:
    study = world.study()
    row = world.task(study, world.participant(study))
    plan = runs.plan_run(world.store, row, 0, 0)

    async def fail(*args: Any) -> ExecResult:
        raise raised

    monkeypatch.setattr(evaluation, "aexecute", fail)
    with pytest.raises(error, match=message):
        await runs.execute_run(world.store, UnisolatedSandbox(), plan, timeout_s=1.0)
    with world.store.session() as session:
        assert session.query(Execution).count() == 0
