"""The Run button's handler: the domain plans and executes the run (``codearena.studies.runs``),
this module applies the per-participant rate limit and shapes the JSON answer. The fix editor's
run (``codearena.studies.fixes``: the edited code through the same execution step) shares the
limit and the answer's shape."""

from __future__ import annotations

from typing import Any

from codearena.sandbox import Artifact
from codearena.store.platform_models import StudyTask
from codearena.studies.fixes import FixCode, execute_fix_run, plan_fix_run
from codearena.studies.runs import RunOutcome, execute_run, plan_run
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.state import Platform
from codearena.web.views import fix_dict

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
    _limit(platform, principal)
    outcome = await execute_run(
        store, platform.sandbox_factory(), plan, timeout_s=platform.limits.run_timeout_s
    )
    return run_dict(outcome)


def _limit(platform: Platform, principal: Principal) -> None:
    if not platform.limiter.allow(
        f"run:{principal.participant_id}", platform.limits.runs_per_minute
    ):
        raise ApiError(429, "too many runs in a minute: wait a little and try again")


async def run_fix(
    platform: Platform, principal: Principal, row: StudyTask, fix_id: str, data: FixCode
) -> dict[str, Any]:
    """The fix editor's Run: the edited code against the task's tests (``run``, shaped like
    the Run button's answer) and the attempt after it (``fix``)."""
    now = platform.clock()  # the click is the activity event, not the end of the run
    store = platform.context.store
    plan = plan_fix_run(store, row, fix_id, data)
    _limit(platform, principal)
    outcome = await execute_fix_run(
        store,
        platform.sandbox_factory(),
        plan,
        timeout_s=platform.limits.run_timeout_s,
        now=now,
    )
    run = run_dict(RunOutcome(outcome.execution_id, outcome.language, outcome.result))
    return {"run": run, "fix": fix_dict(outcome.view)}


def run_dict(outcome: RunOutcome) -> dict[str, Any]:
    """A run as the page shows it: verdict, tests passed, output (cut at 20,000 characters) and
    the images it wrote (``artifacts``)."""
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
        "artifacts": [_artifact_dict(a) for a in result.artifacts],
    }


def _artifact_dict(artifact: Artifact) -> dict[str, Any]:
    """An image the run wrote: its data (base64) when kept, else the note saying why not."""
    shown = artifact.to_dict()
    if not artifact.kept:
        shown["data_base64"] = None
    return shown
