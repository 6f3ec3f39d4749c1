"""A new task: one input model for the form and the API, every check, the stored row, its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from codearena.store.models import Task
from codearena.store.platform_models import StudyTask
from codearena.studies import lifecycle
from codearena.studies.errors import Busy, NotAllowed, StudyError, UnknownItem
from codearena.studies.study import set_status
from codearena.studies.tasks import (
    TaskInput,
    TestsInput,
    open_task,
    plan_task,
    tasks_used,
)
from codearena.testspecs import EXAMPLES_FORMAT
from tests.studies.conftest import World

LIMITS: dict[str, int] = {"max_tests_chars": 1_000, "running_limit": 2}


def test_examples_are_pairs_or_the_forms_text() -> None:
    text = TestsInput(kind="io", examples="1 2\n=>\n3\n---\n4 5\n=>\n9\n")  # type: ignore[arg-type]
    pairs = TestsInput(kind="io", examples=[("1 2\n", "3"), ("4 5\n", "9\n")])
    assert text.examples == pairs.examples
    with pytest.raises(ValidationError, match=EXAMPLES_FORMAT.replace("`", ".")):
        TestsInput(kind="io", examples="1 2\n3\n")  # type: ignore[arg-type]


def test_blank_choices_are_no_choice() -> None:
    data = TaskInput.model_validate({"text": "t", "models": [], "tone": "", "language": ""})
    assert (data.models, data.tone, data.language) == (None, None, None)


def test_a_planned_task_is_stored_running(world: World) -> None:
    study = world.study(n=3)
    person = world.participant(study)
    data = TaskInput(text="t", models=study.models[:2], tone="Direct")
    plan = plan_task(world.store, study.id, person.id, data, **LIMITS)
    assert plan.models == study.models[:2] and plan.options.tone == "Direct"
    assert tasks_used(world.store, person.id) == 0  # planning stores nothing
    row = open_task(world.store, plan)
    assert (row.status, row.models, tasks_used(world.store, person.id)) == (
        "running",
        plan.models,
        1,
    )


def test_a_blind_task_gets_the_least_used_pair(world: World) -> None:
    study = world.study("blind", n=3)
    person = world.participant(study)
    seen = []
    for _ in range(3):
        plan = plan_task(
            world.store,
            study.id,
            person.id,
            TaskInput(text="t"),
            max_tests_chars=10,
            running_limit=99,
        )
        open_task(world.store, plan)
        seen.append(tuple(sorted(plan.models)))
    assert len(set(seen)) == 3
    with pytest.raises(StudyError, match="the models are drawn for you"):
        plan_task(
            world.store, study.id, person.id, TaskInput(text="t", models=study.models[:2]), **LIMITS
        )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"text": "  "}, StudyError, "empty"),
        ({"models": ["nope"]}, StudyError, "unknown model 'nope'"),
        ({"models": []}, StudyError, "choose 2 to 8 models"),
        ({"tone": "angry"}, StudyError, "Professional"),
        ({"tests": {"kind": "python", "code": "x" * 1001}}, StudyError, "too long"),
        ({"tests": {"kind": "io", "code": "assert f()"}}, StudyError, "at least one example"),
        ({"tests": {"kind": "python", "examples": [["1", "2"]]}}, StudyError, "asserts"),
    ],
)
def test_a_bad_task_is_refused(
    world: World, fields: dict[str, object], error: type[Exception], message: str
) -> None:
    study = world.study()
    person = world.participant(study)
    data = TaskInput.model_validate({"text": "t", "models": study.models, **fields})
    with pytest.raises(error, match=message):
        plan_task(world.store, study.id, person.id, data, **LIMITS)


def test_a_closed_study_or_a_used_budget_refuses_tasks(world: World) -> None:
    study = world.study(budget_tasks=1)
    person = world.participant(study)
    data = TaskInput(text="t", models=study.models)
    with pytest.raises(UnknownItem, match="no such study"):
        plan_task(world.store, "missing", person.id, data, **LIMITS)
    open_task(world.store, plan_task(world.store, study.id, person.id, data, **LIMITS))  # type: ignore[arg-type]
    with pytest.raises(NotAllowed, match="all 1 tasks"):
        plan_task(world.store, study.id, person.id, data, **LIMITS)
    set_status(world.store, study.id, "closed")
    with pytest.raises(NotAllowed, match="this study is closed"):
        plan_task(world.store, study.id, person.id, data, **LIMITS)


def test_running_tasks_are_limited(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    data = TaskInput(text="t", models=study.models)
    open_task(
        world.store,
        plan_task(world.store, study.id, person.id, data, max_tests_chars=9, running_limit=1),
    )
    with pytest.raises(Busy, match="wait until your running tasks have finished"):
        plan_task(world.store, study.id, person.id, data, max_tests_chars=9, running_limit=1)


def test_the_lifecycle_links_ends_and_interrupts(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    tests = {"kind": "python", "code": "assert True", "examples": []}
    data = TaskInput(text="t", models=study.models)
    row = open_task(world.store, plan_task(world.store, study.id, person.id, data, **LIMITS))  # type: ignore[arg-type]
    with world.store.session() as session:
        task = Task(prompt="t")
        session.add(task)
    lifecycle.attach(world.store, row.id, task.id, tests)
    with world.store.session() as session:
        stored_task = session.get(Task, task.id)
        assert stored_task is not None and stored_task.tests == tests
        stored = session.get(StudyTask, row.id)
        assert stored is not None and stored.task_id == task.id
    assert lifecycle.finish(world.store, row.id, task.id, None, failed=False) == "done"
    assert lifecycle.finish(world.store, row.id, None, None, failed=False) == "failed"
    assert (
        lifecycle.finish(world.store, row.id, task.id, None, failed=True, interrupted=True)
        == "interrupted"
    )
    assert lifecycle.finish(world.store, "missing", None, None, failed=False) == "failed"
    old = open_task(world.store, plan_task(world.store, study.id, person.id, data, **LIMITS))  # type: ignore[arg-type]
    with world.store.session() as session:
        aged = session.get(StudyTask, old.id)
        assert aged is not None
        aged.created_at = datetime.now(UTC) - timedelta(hours=1)
    assert lifecycle.mark_interrupted(world.store, 60) == 1
    assert lifecycle.mark_interrupted(world.store, 60) == 0
