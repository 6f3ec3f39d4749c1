"""A controlled study's schedules in the store: assigned when a participant joins, read back for
their page and their next task, and counted per cell of the design for the researcher.

The schedule itself is :func:`codearena.studies.designs.assign` of the study's design, models,
task file and seed for the participant's *slot* (the number of participants of the study who
were assigned before them); it is stored whole (``design_assignments``) so that the export and
the methods paragraph give exactly what each participant got.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from codearena.store import Store, study_rows
from codearena.store.platform_models import DesignAssignment, DesignTask, Study, StudyTask
from codearena.studies.designs import assign, study_conditions


def design_tasks(session: Session, study_id: str) -> list[DesignTask]:
    """The study's task file, in its order."""
    return list(session.scalars(study_rows.design_tasks(study_id)))


def add_assignment(session: Session, study: Study, participant_id: str) -> DesignAssignment:
    """Assign the next slot's schedule to a new participant (in the caller's transaction; two
    joins racing for one slot make the second transaction fail on the unique slot)."""
    slot = int(
        session.scalar(
            select(func.count())
            .select_from(DesignAssignment)
            .where(DesignAssignment.study_id == study.id)
        )
        or 0
    )
    keys = [task.key for task in design_tasks(session, study.id)]
    plan = assign(
        study.design,
        study.mode,
        study.models,
        keys,
        slot,
        seed=study.design_seed or 0,
        per_participant=study.tasks_per_participant,
    )
    row = DesignAssignment(
        participant_id=participant_id,
        study_id=study.id,
        slot=slot,
        condition=list(plan.condition) if plan.condition else None,
        items=[[key, list(models)] for key, models in plan.items],
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class ScheduledItem:
    """One item of a participant's schedule and how far they are with it."""

    number: int  # 1-based position in the schedule
    key: str
    prompt: str
    category: str | None
    language: str | None
    tests: dict[str, Any] | None
    models: list[str]
    status: str  # "to do", "running", "done"
    study_task_id: str | None


@dataclass(frozen=True)
class Schedule:
    slot: int
    condition: list[str] | None
    items: list[ScheduledItem]

    @property
    def done(self) -> int:
        return sum(item.status == "done" for item in self.items)

    def next_item(self) -> ScheduledItem | None:
        """The first item not done yet (None when every one is)."""
        return next((item for item in self.items if item.status != "done"), None)


def schedule_of(store: Store, participant_id: str) -> Schedule | None:
    """The participant's schedule with each item's state; None outside controlled studies."""
    with store.session() as session:
        row = session.get(DesignAssignment, participant_id)
        if row is None:
            return None
        tasks = {task.key: task for task in design_tasks(session, row.study_id)}
        started: dict[str, StudyTask] = {}
        for study_task in session.scalars(
            select(StudyTask)
            .where(StudyTask.participant_id == participant_id, StudyTask.design_item.is_not(None))
            .order_by(StudyTask.created_at)
        ):
            previous = started.get(study_task.design_item or "")
            if previous is None or previous.status != "done":  # a done attempt counts
                started[study_task.design_item or ""] = study_task
        items = []
        for number, (key, models) in enumerate(row.items, start=1):
            task = tasks[key]
            attempt = started.get(key)
            status = "to do"
            if attempt is not None and attempt.status in ("running", "done"):
                status = attempt.status
            items.append(
                ScheduledItem(
                    number,
                    key,
                    task.prompt,
                    task.category,
                    task.language,
                    task.tests,
                    list(models),
                    status,
                    attempt.id if attempt is not None else None,
                )
            )
        return Schedule(row.slot, row.condition, items)


def design_progress(store: Store, study: Study) -> dict[str, Any]:
    """Completion per cell of the design: per (task, condition) for ``crossover``, per
    condition for ``between``, with how many items are assigned and how many are done."""
    with store.session() as session:
        assignments = list(
            session.scalars(select(DesignAssignment).where(DesignAssignment.study_id == study.id))
        )
        done = {
            (row.participant_id, row.design_item)
            for row in session.scalars(
                select(StudyTask).where(
                    StudyTask.study_id == study.id,
                    StudyTask.status == "done",
                    StudyTask.design_item.is_not(None),
                )
            )
        }
        keys = [task.key for task in design_tasks(session, study.id)]
    assigned: Counter[tuple[str, ...]] = Counter()
    completed: Counter[tuple[str, ...]] = Counter()
    for row in assignments:
        for key, models in row.items:
            cell = (key, *models) if study.design == "crossover" else tuple(row.condition or ())
            assigned[cell] += 1
            completed[cell] += (row.participant_id, key) in done
    conds = study_conditions(study.design, study.mode, study.models, study.design_seed or 0)
    cells = [(key, *c) for key in keys for c in conds] if study.design == "crossover" else conds
    return {
        "design": study.design,
        "seed": study.design_seed,
        "participants": len(assignments),
        "tasks": len(keys),
        "tasks_per_participant": study.tasks_per_participant or len(keys),
        "cells": [
            {**_cell(study, cell), "assigned": assigned[cell], "done": completed[cell]}
            for cell in cells
        ],
    }


def _cell(study: Study, cell: tuple[str, ...]) -> dict[str, Any]:
    if study.design == "crossover":
        return {"task": cell[0], "models": list(cell[1:])}
    return {"models": list(cell)}
