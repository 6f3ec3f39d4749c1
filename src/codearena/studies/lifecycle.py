"""The later states of a study task: its pipeline task linked as soon as it is stored, its end
(``done``, ``failed`` or ``interrupted``), and the tasks a stopped server left ``running``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from codearena.store import Store
from codearena.store.models import Task
from codearena.store.platform_models import DesignTask, StudyTask
from codearena.store.vocabulary import StudyTaskStatus


def attach(store: Store, study_task_id: str, task_id: str, tests: dict[str, Any] | None) -> None:
    """Link the stored pipeline task (and give it the participant's tests, and a controlled
    study's task its category from the task file): each answer can be run and rated as soon as
    it arrives, before the slowest model has finished."""
    with store.session() as session:
        stored = session.get(StudyTask, study_task_id)
        if stored is not None:
            stored.task_id = task_id
        task = session.get(Task, task_id)
        if task is not None and tests:
            task.tests = tests
        if task is not None and stored is not None and stored.design_item is not None:
            task.category = session.scalar(
                select(DesignTask.category).where(
                    DesignTask.study_id == stored.study_id, DesignTask.key == stored.design_item
                )
            )


def finish(
    store: Store,
    study_task_id: str,
    task_id: str | None,
    tests: dict[str, Any] | None,
    *,
    failed: bool,
    interrupted: bool = False,
) -> StudyTaskStatus:
    """Record how the task ended and return its status: ``done`` (every answer stored),
    ``interrupted`` (the server stopped first) or ``failed``."""
    status: StudyTaskStatus = "failed"
    with store.session() as session:
        stored = session.get(StudyTask, study_task_id)
        if stored is not None:
            stored.task_id = task_id
            stored.status = "done" if task_id and not failed else "failed"
            if interrupted:
                stored.status = "interrupted"
            status = stored.status
        if task_id and tests:
            task = session.get(Task, task_id)
            if task is not None:
                task.tests = tests
    return status


def mark_interrupted(store: Store, older_than_s: float) -> int:
    """Tasks left ``running`` by a stopped server (older than any call can last) never finish;
    returns how many were marked ``interrupted``."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    marked = 0
    with store.session() as session:
        query = select(StudyTask).where(
            StudyTask.status == "running", StudyTask.created_at < cutoff
        )
        for row in session.scalars(query):
            row.status = "interrupted"
            marked += 1
    return marked
