"""The Run button's handler: the domain plans and executes the run (``codearena.studies.runs``),
this module applies the per-participant rate limit and shapes the JSON answer."""

from __future__ import annotations

from typing import Any

from codearena.store.platform_models import StudyTask
from codearena.studies.runs import RunOutcome, execute_run, plan_run
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.state import Platform

OUTPUT_CHARS = 20_000


async def run_block(
    platform: Platform,
    principal: Principal,
    row: StudyTask,
    position: int,
    block_index: int,
    turn: int = 1,
) -> dict[str, Any]:
    store = platform.context.store
    plan = plan_run(store, row, position, block_index, turn)
    if not platform.limiter.allow(
        f"run:{principal.participant_id}", platform.limits.runs_per_minute
    ):
        raise ApiError(429, "too many runs in a minute: wait a little and try again")
    outcome = await execute_run(
        store, platform.sandbox_factory(), plan, timeout_s=platform.limits.run_timeout_s
    )
    return run_dict(outcome)


def run_dict(outcome: RunOutcome) -> dict[str, Any]:
    """A run as the page shows it: verdict, tests passed, output (cut at 20,000 characters)."""
    result = outcome.result
    return {
        "id": outcome.execution_id,
        "verdict": result.verdict,
        "tests_passed": result.tests_passed,
        "tests_total": result.tests_total,
        "stdout": result.stdout[:OUTPUT_CHARS],
        "stderr": result.stderr[:OUTPUT_CHARS],
        "duration_ms": result.duration_ms,
        "exit_code": result.exit_code,
        "language": outcome.language,
        "isolated": result.isolated,
    }
