"""Running an answer's code block: the program and language it runs as (the same
``answers.select_program`` rule as ``generate --run``), checked before anything runs, then the
one execution step of every door (``evaluation.execute_answer``: the sandbox against the task's
tests, the stored ``executions`` row), linked to the study task (``source = "web"``)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from codearena.answers import CodeBlock, Program, select_program, stored_blocks
from codearena.evaluation import execute_answer
from codearena.sandbox import (
    ExecResult,
    Limits,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    TestSpec,
    normalize_language,
)
from codearena.store import Store
from codearena.store.models import Execution, Task
from codearena.store.platform_models import StudyExecution, StudyTask
from codearena.studies.access import generation_at
from codearena.studies.errors import RunUnavailable, StudyError, UnknownItem
from codearena.testspecs import spec_from_json


class RunInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    block_index: int = Field(default=0, ge=0, description="index of the answer's code block")


@dataclass(frozen=True)
class RunPlan:
    """What a run executes: the program, its language, the tests, and where it is recorded."""

    study_task_id: str
    participant_id: str
    position: int
    task_id: str
    generation_id: str
    program: Program
    language: str
    tests: TestSpec | None
    blocks: list[CodeBlock]
    block_index: int
    task_language: str | None


@dataclass(frozen=True)
class RunOutcome:
    execution_id: str
    language: str
    result: ExecResult


def plan_run(
    store: Store, row: StudyTask, position: int, block_index: int, turn: int = 1
) -> RunPlan:
    """Choose the program to run for one arrived answer (at ``turn`` of its conversation);
    nothing runs or is stored yet."""
    generation = generation_at(store, row, position, turn)
    blocks = stored_blocks(generation.code or [])
    with store.session() as session:
        task = session.get(Task, generation.task_id)
        task_language = task.output_language if task else None
    program = select_program(
        blocks,
        task_language=task_language,
        test_kind=row.tests.get("kind") if row.tests else None,
        block_index=block_index,
    )
    if program is None:
        raise UnknownItem(f"this answer has no code block {block_index}")
    try:
        language = normalize_language(program.language)
    except SandboxError as exc:
        raise StudyError(str(exc)) from exc
    return RunPlan(
        study_task_id=row.id,
        participant_id=row.participant_id,
        position=position,
        task_id=generation.task_id,
        generation_id=generation.id,
        program=program,
        language=language,
        tests=spec_from_json(row.tests),
        blocks=blocks,
        block_index=block_index,
        task_language=task_language,
    )


async def execute_run(
    store: Store, sandbox: Sandbox, plan: RunPlan, *, timeout_s: float
) -> RunOutcome:
    """Run the planned program in the sandbox and store the execution with its link."""

    def link(session: Session, execution: Execution) -> None:
        session.add(
            StudyExecution(
                execution_id=execution.id,
                study_task_id=plan.study_task_id,
                participant_id=plan.participant_id,
                position=plan.position,
            )
        )

    try:
        executed = await execute_answer(
            store,
            sandbox,
            task_id=plan.task_id,
            generation_id=plan.generation_id,
            blocks=plan.blocks,
            language=plan.task_language,
            tests=plan.tests,
            source="web",
            limits=Limits(timeout_s=timeout_s),
            block_index=plan.block_index,
            link=link,
        )
    except SandboxUnavailable as exc:
        raise RunUnavailable(f"the sandbox is not available on this server: {exc}") from exc
    except SandboxError as exc:
        raise StudyError(str(exc)) from exc
    return RunOutcome(executed.execution_id, plan.language, executed.result)
