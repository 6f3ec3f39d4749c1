"""A participant's new task: its one input model, every check (study open, text, options,
tests, models, budget) and the stored ``study_tasks`` row. The fan-out itself is started by the
web layer, which owns the gateway and the live streams (see :mod:`codearena.studies.lifecycle`
for the row's later states)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from codearena.pipeline import InputError, validate_task
from codearena.prompting import PromptOptions
from codearena.stats.bradley_terry import Vote as BattleVote
from codearena.stats.pairing import choose_pair
from codearena.store import Store
from codearena.store.models import Generation
from codearena.store.platform_models import Study, StudyTask, Vote
from codearena.studies.errors import Busy, NotAllowed, StudyError
from codearena.studies.schedule import schedule_of
from codearena.studies.study import MAX_MODELS, MIN_MODELS, get_study, spend_cap_reason
from codearena.testspecs import examples_from_text

_rng = random.SystemRandom()


class TestsInput(BaseModel):
    """Python asserts (``kind="python"``, ``code``) or input/output ``examples``: a list of
    ``[input, output]`` pairs, or the text the task form takes (``input``, a line ``=>``, the
    output; examples separated by ``---`` lines)."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")
    kind: Literal["python", "io"]
    code: str = ""
    examples: list[tuple[str, str]] = Field(default_factory=list)

    @field_validator("examples", mode="before")
    @classmethod
    def _text_examples(cls, value: Any) -> Any:
        return examples_from_text(value) if isinstance(value, str) else value


class TaskInput(BaseModel):
    """A new task, as the task form and ``POST /api/tasks`` both give it."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        default="",
        description="the task, in natural language (at most 100,000 characters); controlled "
        "studies give it: send `item` instead",
    )
    item: str | None = Field(
        default=None,
        description="controlled studies: the id of the participant's next task in the task file",
    )
    models: list[str] | None = Field(
        default=None, description="named studies: 2 to 8 of the study's models"
    )
    requirement: str | None = None
    tone: str | None = None
    language: str | None = None
    tests: TestsInput | None = None

    @field_validator("models", "requirement", "tone", "language", "item", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty choice (a form's blank select, no model ticked) is no choice."""
        return None if value in ("", []) else value


@dataclass(frozen=True)
class TaskPlan:
    """A task that passed every check: what :func:`open_task` stores and the pipeline runs."""

    study: Study
    participant_id: str
    prompt: str
    models: list[str]
    options: PromptOptions
    tests: dict[str, Any] | None
    design_item: str | None = None


def _options(study: Study, data: TaskInput) -> PromptOptions:
    allowed = set(study.prompt_options)
    given = {"requirement": data.requirement, "tone": data.tone, "language": data.language}
    for name, value in given.items():
        if value and name not in allowed:
            raise StudyError(f"this study does not let participants choose the {name}")
    try:
        return PromptOptions(
            requirement=data.requirement or "Generate code",
            tone=data.tone or "Professional",
            language=data.language,
        )
    except ValueError as exc:
        raise StudyError(str(exc)) from exc


def _tests(tests: TestsInput | None, max_chars: int) -> dict[str, Any] | None:
    if tests is None or (not tests.code.strip() and not tests.examples):
        return None
    size = len(tests.code) + sum(len(a) + len(b) for a, b in tests.examples)
    if size > max_chars:
        raise StudyError(f"the tests are too long (limit {max_chars:,})")
    if tests.kind == "python" and not tests.code.strip():
        raise StudyError("Python tests need asserts in `code`")
    if tests.kind == "io" and not tests.examples:
        raise StudyError("input/output tests need at least one example")
    return tests.model_dump()


def blind_pair(store: Store, study: Study) -> list[str]:
    """The next battle's pair, in random sides. ``uniform`` pairing: the pair with the fewest
    battles so far (ties drawn at random); ``adaptive``: the pair whose next vote shrinks the
    intervals most, from the votes cast so far (``stats.pairing``)."""
    if study.pairing == "adaptive":
        with store.session() as session:
            rows = session.execute(
                select(Vote.model_a, Vote.model_b, Vote.choice).where(
                    Vote.study_id == study.id, Vote.kind == "battle"
                )
            ).all()
        votes = [
            BattleVote(a, b, choice)
            for a, b, choice in rows
            if a and b and a != b and choice in ("a", "b", "tie", "both_bad")
        ]
        generator = np.random.default_rng(_rng.getrandbits(64))
        return choose_pair(study.models, votes, generator, "adaptive")
    with store.session() as session:
        rows_models = session.scalars(
            select(StudyTask.models).where(
                StudyTask.study_id == study.id, StudyTask.mode == "blind"
            )
        ).all()
    counts = Counter(tuple(sorted(models)) for models in rows_models)
    pairs = [tuple(sorted(p)) for p in combinations(study.models, 2)]
    fewest = min(counts[p] for p in pairs)
    pair = list(_rng.choice([p for p in pairs if counts[p] == fewest]))
    _rng.shuffle(pair)
    return pair


def _named_models(study: Study, chosen: list[str] | None) -> list[str]:
    models = list(dict.fromkeys(chosen or []))
    unknown = [m for m in models if m not in study.models]
    if unknown:
        raise StudyError(f"unknown model {unknown[0]!r}: this study offers {study.models}")
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise StudyError(f"choose {MIN_MODELS} to {MAX_MODELS} models")
    return models


def tasks_used(store: Store, participant_id: str) -> int:
    """How many tasks the participant has started (every status counts against the budget),
    each follow-up or repair round of a task counting as one more (a task's turn 2, 3, ...)."""
    with store.session() as session:
        used = session.scalar(
            select(func.count())
            .select_from(StudyTask)
            .where(StudyTask.participant_id == participant_id)
        )
        rounds = session.execute(
            select(Generation.task_id, Generation.turn)
            .join(StudyTask, StudyTask.task_id == Generation.task_id)
            .where(StudyTask.participant_id == participant_id, Generation.turn > 1)
            .distinct()
        ).all()
    return int(used or 0) + len(rounds)


def spent_usd(store: Store, participant_id: str) -> float:
    """What the participant's answers have cost so far (stored generations)."""
    with store.session() as session:
        spent = session.scalar(
            select(func.coalesce(func.sum(Generation.cost_usd), 0.0))
            .join(StudyTask, StudyTask.task_id == Generation.task_id)
            .where(StudyTask.participant_id == participant_id)
        )
    return float(spent or 0.0)


def budget_reason(store: Store, study: Study, participant_id: str) -> str | None:
    """Why the participant can start no more tasks (the study's spend cap reached, their max
    tasks or USD budget used), or None. The task form disables Generate with this reason; a new
    task is refused with it."""
    cap = spend_cap_reason(store, study)
    if cap is not None:
        return cap
    if study.budget_tasks is not None and tasks_used(store, participant_id) >= study.budget_tasks:
        return f"you have used all {study.budget_tasks} tasks of this study"
    if study.budget_usd is not None and spent_usd(store, participant_id) >= study.budget_usd:
        return "you have used this study's budget; thank you! Go on to the survey"
    return None


def _check_budget(store: Store, study: Study, participant_id: str, running_limit: int) -> None:
    with store.session() as session:
        running = session.scalar(
            select(func.count())
            .select_from(StudyTask)
            .where(StudyTask.participant_id == participant_id, StudyTask.status == "running")
        )
    reason = budget_reason(store, study, participant_id)
    if reason is not None:
        raise NotAllowed(reason)
    if (running or 0) >= running_limit:
        raise Busy("wait until your running tasks have finished")


def plan_task(
    store: Store,
    study_id: str,
    participant_id: str,
    data: TaskInput,
    *,
    max_tests_chars: int,
    running_limit: int,
) -> TaskPlan:
    """Check a new task against its study and the participant's budget; nothing is stored."""
    study = get_study(store, study_id)
    if study.status != "open":
        raise NotAllowed("this study is closed")
    if study.design != "open":
        return _planned_item(store, study, participant_id, data, running_limit)
    if data.item is not None:
        raise StudyError("this study has no task file: describe your own task")
    try:
        validate_task(data.text)
    except InputError as exc:
        raise StudyError(str(exc)) from exc
    options = _options(study, data)
    tests = _tests(data.tests, max_tests_chars)
    if study.mode == "blind":
        if data.models:
            raise StudyError("this study is blind: the models are drawn for you")
        models = blind_pair(store, study)
    else:
        models = _named_models(study, data.models)
    _check_budget(store, study, participant_id, running_limit)
    return TaskPlan(study, participant_id, data.text, models, options, tests)


def _planned_item(
    store: Store, study: Study, participant_id: str, data: TaskInput, running_limit: int
) -> TaskPlan:
    """A controlled study's task: the participant's next scheduled item, as the design gives
    it (its text, models, language and tests); nothing of it is the participant's choice."""
    chosen = [
        name
        for name, value in (
            ("a task text", data.text.strip()),
            ("models", data.models),
            ("the requirement", data.requirement),
            ("the tone", data.tone),
            ("the language", data.language),
            ("tests", data.tests and (data.tests.code.strip() or data.tests.examples)),
        )
        if value
    ]
    if chosen:
        raise StudyError(
            f"this study gives you its tasks ({study.design} design): {chosen[0]} cannot be "
            "chosen; start your next task from your list"
        )
    schedule = schedule_of(store, participant_id)
    if schedule is None:
        raise NotAllowed("you have no task list in this study: join it through its invite")
    upcoming = schedule.next_item()
    if upcoming is None:
        raise NotAllowed("you have done every task of this study: thank you")
    if data.item is None or data.item != upcoming.key:
        raise StudyError(
            f"your next task is number {upcoming.number} ({upcoming.key!r}): the tasks are "
            "done in the order given"
        )
    if upcoming.status == "running":
        raise Busy("this task is still running: wait for its answers")
    _check_budget(store, study, participant_id, running_limit)
    options = PromptOptions(language=upcoming.language)
    return TaskPlan(
        study,
        participant_id,
        upcoming.prompt,
        upcoming.models,
        options,
        upcoming.tests,
        upcoming.key,
    )


def open_task(store: Store, plan: TaskPlan) -> StudyTask:
    """Store the planned task as ``running``; its answers are linked as they are stored."""
    with store.session() as session:
        row = StudyTask(
            study_id=plan.study.id,
            participant_id=plan.participant_id,
            mode=plan.study.mode,
            models=plan.models,
            prompt=plan.prompt,
            tests=plan.tests,
            status="running",
            design_item=plan.design_item,
        )
        session.add(row)
    return row
