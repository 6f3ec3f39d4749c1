"""The one handler of a new task (the task form and ``POST /api/tasks``): the domain's checks
(``codearena.studies.tasks``), the rate limit at the HTTP edge, then the fan-out as a background
asyncio task owned by the app, its events sent to the task's live subscribers."""

from __future__ import annotations

import asyncio
import logging
import time

from codearena.pipeline import run_task
from codearena.prompting import PromptOptions
from codearena.store.platform_models import StudyTask
from codearena.studies import lifecycle
from codearena.studies.tasks import TaskInput, open_task, plan_task
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.state import Platform
from codearena.web.streams import AnswerState, LiveTask
from codearena.web.views import epoch, live_presenter

log = logging.getLogger(__name__)
STOPPED = "the server stopped before the answers were complete"


async def create_task(platform: Platform, principal: Principal, data: TaskInput) -> StudyTask:
    """Check everything, store the study task, and start the fan-out in the background."""
    assert principal.participant_id and principal.study_id
    store = platform.context.store
    plan = plan_task(
        store,
        principal.study_id,
        principal.participant_id,
        data,
        max_tests_chars=platform.limits.max_tests_chars,
        running_limit=platform.limits.running_tasks,
    )
    if not platform.limiter.allow(
        f"task:{principal.participant_id}", platform.limits.tasks_per_minute
    ):
        raise ApiError(429, "too many tasks in a minute: wait a little and try again")
    row = open_task(store, plan)
    live = LiveTask(
        row.id,
        live_presenter(platform.context.catalog, row),
        [AnswerState(i) for i in range(len(row.models))],
        named=row.mode == "named",
        started_at=epoch(row.created_at) or time.time(),
    )
    platform.hub.add(live)
    platform.spawn(_run(platform, row, live, plan.options))
    return row


async def _run(platform: Platform, row: StudyTask, live: LiveTask, options: PromptOptions) -> None:
    store = platform.context.store
    error: str | None = None
    task_id: str | None = None

    def link(stored_task_id: str) -> None:
        lifecycle.attach(store, row.id, stored_task_id, row.tests)
        row.task_id = stored_task_id

    try:
        outcome = await run_task(
            platform.context,
            platform.require_gateway(),
            row.prompt,
            row.models,
            options,
            source="web",
            listener=live.on_event,
            on_stored=link,
        )
        task_id = outcome.task_id
    except asyncio.CancelledError:
        error = STOPPED
        raise
    except Exception as exc:  # report it in the page; the other tasks go on
        log.exception("task %s failed", row.id)
        error = f"the task could not run: {exc}"
    finally:
        task_id = task_id or row.task_id
        row.status = lifecycle.finish(
            store,
            row.id,
            task_id,
            row.tests,
            failed=error is not None,
            interrupted=error == STOPPED,
        )
        row.task_id = task_id
        live.finish(error)
        platform.hub.remove(row.id)


def mark_interrupted(platform: Platform) -> None:
    """At start-up: tasks left running by a stopped server (older than any call can last)."""
    lifecycle.mark_interrupted(
        platform.context.store, platform.context.settings.gateway.total_timeout + 60
    )
