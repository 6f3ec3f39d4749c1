"""The one handler of a follow-up or repair round (the task page's forms and their JSON twins
``POST /api/tasks/{id}/follow-up`` and ``.../answers/{position}/repair``): the domain plans the
turns (``codearena.studies.followups``), the rate limit is applied here (a round costs like a
task), then the calls run in the background, streamed like the task's first answers."""

from __future__ import annotations

import asyncio
import logging

from codearena.pipeline import generate_turns
from codearena.store.platform_models import StudyTask
from codearena.studies.errors import Conflict
from codearena.studies.followups import (
    FollowUpInput,
    FollowUpPlan,
    RepairInput,
    plan_follow_up,
    plan_repair,
)
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.state import Platform
from codearena.web.streams import AnswerState, LiveTask
from codearena.web.views import live_presenter

log = logging.getLogger(__name__)
STOPPED = "the server stopped before the answers were complete"


def start_round(
    platform: Platform, principal: Principal, row: StudyTask, plan: FollowUpPlan
) -> LiveTask:
    """Start the planned round in the background; its events go to the task's subscribers."""
    current = platform.hub.get(row.id)
    if current is not None and not current.complete:
        raise Conflict("wait until every answer of this task has arrived")
    if not platform.limiter.allow(
        f"task:{principal.participant_id}", platform.limits.tasks_per_minute
    ):
        raise ApiError(429, "too many tasks in a minute: wait a little and try again")
    live = LiveTask(
        row.id,
        live_presenter(platform.context.catalog, row),
        [AnswerState(t.position, turn=t.turn) for t in plan.turns],
        named=row.mode == "named",
        round=plan.round,
    )
    platform.hub.add(live)
    platform.spawn(_run(platform, row, live, plan))
    return live


async def _run(platform: Platform, row: StudyTask, live: LiveTask, plan: FollowUpPlan) -> None:
    error: str | None = None
    try:
        await generate_turns(
            platform.context,
            platform.require_gateway(),
            plan.task_id,
            plan.turns,
            listener=live.on_event,
        )
    except asyncio.CancelledError:
        error = STOPPED
        raise
    except Exception as exc:  # report it in the page; the other tasks go on
        log.exception("follow-up of task %s failed", row.id)
        error = f"the follow-up could not run: {exc}"
    finally:
        live.finish(error)
        if platform.hub.get(row.id) is live:
            platform.hub.remove(row.id)


def follow_up(
    platform: Platform, principal: Principal, row: StudyTask, data: FollowUpInput
) -> LiveTask:
    """The same follow-up to every model of the task (form and JSON)."""
    return start_round(platform, principal, row, plan_follow_up(platform.context, row, data))


def repair(
    platform: Platform, principal: Principal, row: StudyTask, position: int, data: RepairInput
) -> LiveTask:
    """An answer's failed run sent back to its model (form and JSON)."""
    plan = plan_repair(platform.context, row, position, data)
    return start_round(platform, principal, row, plan)
