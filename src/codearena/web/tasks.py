"""Creating a participant's task: checks, budgets, model choice, and the background fan-out."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from codearena.pipeline import InputError, run_task, validate_task
from codearena.prompting import PromptOptions
from codearena.store.models import Generation, Task
from codearena.store.platform_models import Study, StudyTask
from codearena.web.auth import Principal
from codearena.web.errors import ApiError
from codearena.web.state import Platform
from codearena.web.streams import AnswerState, LiveTask
from codearena.web.studies import MAX_MODELS, MIN_MODELS, get_study
from codearena.web.views import live_presenter

log = logging.getLogger(__name__)
_rng = random.SystemRandom()


class TestsInput(BaseModel):
    """Python asserts (``kind="python"``, ``code``) or input/output ``examples``."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")
    kind: Literal["python", "io"]
    code: str = ""
    examples: list[tuple[str, str]] = Field(default_factory=list)


class TaskInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="the task, in natural language (at most 100,000 characters)")
    models: list[str] | None = Field(
        default=None, description="named studies: 2 to 8 of the study's models"
    )
    requirement: str | None = None
    tone: str | None = None
    language: str | None = None
    tests: TestsInput | None = None


def _options(study: Study, data: TaskInput) -> PromptOptions:
    allowed = set(study.prompt_options)
    given = {"requirement": data.requirement, "tone": data.tone, "language": data.language}
    for name, value in given.items():
        if value and name not in allowed:
            raise ApiError(400, f"this study does not let participants choose the {name}")
    try:
        return PromptOptions(
            requirement=data.requirement or "Generate code",
            tone=data.tone or "Professional",
            language=data.language,
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc


def _tests(platform: Platform, tests: TestsInput | None) -> dict[str, Any] | None:
    if tests is None or (not tests.code.strip() and not tests.examples):
        return None
    size = len(tests.code) + sum(len(a) + len(b) for a, b in tests.examples)
    if size > platform.limits.max_tests_chars:
        raise ApiError(400, f"the tests are too long (limit {platform.limits.max_tests_chars:,})")
    if tests.kind == "python" and not tests.code.strip():
        raise ApiError(400, "Python tests need asserts in `code`")
    if tests.kind == "io" and not tests.examples:
        raise ApiError(400, "input/output tests need at least one example")
    return tests.model_dump()


def _blind_pair(platform: Platform, study: Study) -> list[str]:
    """The pair of models with the fewest battles so far (ties drawn at random), random sides."""
    with platform.context.store.session() as session:
        rows = session.scalars(
            select(StudyTask.models).where(
                StudyTask.study_id == study.id, StudyTask.mode == "blind"
            )
        ).all()
    counts = Counter(tuple(sorted(models)) for models in rows)
    pairs = [tuple(sorted(p)) for p in combinations(study.models, 2)]
    fewest = min(counts[p] for p in pairs)
    pair = list(_rng.choice([p for p in pairs if counts[p] == fewest]))
    _rng.shuffle(pair)
    return pair


def _named_models(study: Study, chosen: list[str] | None) -> list[str]:
    models = list(dict.fromkeys(chosen or []))
    unknown = [m for m in models if m not in study.models]
    if unknown:
        raise ApiError(400, f"unknown model {unknown[0]!r}: this study offers {study.models}")
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise ApiError(400, f"choose {MIN_MODELS} to {MAX_MODELS} models")
    return models


def _check_budget(platform: Platform, study: Study, participant_id: str) -> None:
    store = platform.context.store
    with store.session() as session:
        used = session.scalar(
            select(func.count())
            .select_from(StudyTask)
            .where(StudyTask.participant_id == participant_id)
        )
        running = session.scalar(
            select(func.count())
            .select_from(StudyTask)
            .where(StudyTask.participant_id == participant_id, StudyTask.status == "running")
        )
        spent = session.scalar(
            select(func.coalesce(func.sum(Generation.cost_usd), 0.0))
            .join(StudyTask, StudyTask.task_id == Generation.task_id)
            .where(StudyTask.participant_id == participant_id)
        )
    if study.budget_tasks is not None and (used or 0) >= study.budget_tasks:
        raise ApiError(403, f"you have used all {study.budget_tasks} tasks of this study")
    if study.budget_usd is not None and float(spent or 0.0) >= study.budget_usd:
        raise ApiError(403, "you have used this study's budget; thank you! Go on to the survey")
    if (running or 0) >= platform.limits.running_tasks:
        raise ApiError(429, "wait until your running tasks have finished")


async def create_task(platform: Platform, principal: Principal, data: TaskInput) -> StudyTask:
    """Check everything, store the study task, and start the fan-out in the background."""
    assert principal.participant_id and principal.study_id
    study = get_study(platform.context.store, principal.study_id)
    if study.status != "open":
        raise ApiError(403, "this study is closed")
    try:
        validate_task(data.text)
    except InputError as exc:
        raise ApiError(400, str(exc)) from exc
    options = _options(study, data)
    tests = _tests(platform, data.tests)
    if study.mode == "blind":
        if data.models:
            raise ApiError(400, "this study is blind: the models are drawn for you")
        models = _blind_pair(platform, study)
    else:
        models = _named_models(study, data.models)
    _check_budget(platform, study, principal.participant_id)
    if not platform.limiter.allow(
        f"task:{principal.participant_id}", platform.limits.tasks_per_minute
    ):
        raise ApiError(429, "too many tasks in a minute: wait a little and try again")
    with platform.context.store.session() as session:
        row = StudyTask(
            study_id=study.id,
            participant_id=principal.participant_id,
            mode=study.mode,
            models=models,
            prompt=data.text,
            tests=tests,
            status="running",
        )
        session.add(row)
    live = LiveTask(
        row.id,
        live_presenter(platform.context.catalog, row),
        [AnswerState(i) for i in range(len(models))],
    )
    platform.hub.add(live)
    platform.spawn(_run(platform, row, live, options))
    return row


async def _run(platform: Platform, row: StudyTask, live: LiveTask, options: PromptOptions) -> None:
    store = platform.context.store
    error: str | None = None
    task_id: str | None = None

    def link(stored_task_id: str) -> None:
        """The task and its pending answers are stored: each answer can be run and rated as
        soon as it arrives, before the slowest model has finished."""
        with store.session() as session:
            stored = session.get(StudyTask, row.id)
            if stored is not None:
                stored.task_id = stored_task_id
            task = session.get(Task, stored_task_id)
            if task is not None and row.tests:
                task.tests = row.tests
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
        error = "the server stopped before the answers were complete"
        raise
    except Exception as exc:  # report it in the page; the other tasks go on
        log.exception("task %s failed", row.id)
        error = f"the task could not run: {exc}"
    finally:
        task_id = task_id or row.task_id
        with store.session() as session:
            stored = session.get(StudyTask, row.id)
            if stored is not None:
                stored.task_id = task_id
                stored.status = "done" if task_id and error is None else "failed"
                if error and error.startswith("the server stopped"):
                    stored.status = "interrupted"
            if task_id and row.tests:
                task = session.get(Task, task_id)
                if task is not None:
                    task.tests = row.tests
        row.task_id = task_id
        row.status = stored.status if stored is not None else "failed"
        live.finish(error)
        platform.hub.remove(row.id)


def mark_interrupted(platform: Platform) -> None:
    """Tasks left running by a stopped server (older than any call can last) never finish."""
    gateway = platform.context.settings.gateway
    cutoff = datetime.now(UTC) - timedelta(seconds=gateway.total_timeout + 60)
    with platform.context.store.session() as session:
        query = select(StudyTask).where(
            StudyTask.status == "running", StudyTask.created_at < cutoff
        )
        for row in session.scalars(query):
            row.status = "interrupted"
