"""Run an answer's code block in the sandbox against the task's tests, and store the execution."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from codearena.answers import select_program, stored_blocks
from codearena.evaluation import aexecute, record_execution
from codearena.sandbox import (
    Limits,
    SandboxError,
    SandboxUnavailable,
    TestSpec,
    normalize_language,
)
from codearena.store.models import Execution, Task
from codearena.store.platform_models import StudyExecution, StudyTask
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.judgements import generation_at
from codearena.web.state import Platform


class RunInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    block_index: int = Field(default=0, ge=0, description="index of the answer's code block")


def _spec(tests: dict[str, Any] | None) -> TestSpec | None:
    if not tests:
        return None
    return TestSpec(
        tests["kind"],
        code=tests.get("code", ""),
        examples=[(str(a), str(b)) for a, b in tests.get("examples", [])],
    )


async def run_block(
    platform: Platform, principal: Principal, row: StudyTask, position: int, block_index: int
) -> dict[str, Any]:
    store = platform.context.store
    generation = generation_at(store, row, position)
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
        raise ApiError(404, f"this answer has no code block {block_index}")
    try:
        language = normalize_language(program.language)
    except SandboxError as exc:
        raise ApiError(400, str(exc)) from exc
    if not platform.limiter.allow(
        f"run:{principal.participant_id}", platform.limits.runs_per_minute
    ):
        raise ApiError(429, "too many runs in a minute: wait a little and try again")
    spec = _spec(row.tests)
    limits = Limits(timeout_s=platform.limits.run_timeout_s)
    try:
        result = await aexecute(platform.sandbox_factory(), program, spec, limits)
    except SandboxUnavailable as exc:
        raise ApiError(503, f"the sandbox is not available on this server: {exc}") from exc
    except SandboxError as exc:
        raise ApiError(400, str(exc)) from exc

    def link(session: Session, execution: Execution) -> None:
        session.add(
            StudyExecution(
                execution_id=execution.id,
                study_task_id=row.id,
                participant_id=row.participant_id,
                position=position,
            )
        )

    execution_id = record_execution(
        store,
        task_id=generation.task_id,
        generation_id=generation.id,
        program=program,
        language=language,
        tests=spec,
        result=result,
        source="web",
        link=link,
    )
    return {
        "id": execution_id,
        "verdict": result.verdict,
        "tests_passed": result.tests_passed,
        "tests_total": result.tests_total,
        "stdout": result.stdout[:20_000],
        "stderr": result.stderr[:20_000],
        "duration_ms": result.duration_ms,
        "exit_code": result.exit_code,
        "language": language,
        "isolated": result.isolated,
    }
