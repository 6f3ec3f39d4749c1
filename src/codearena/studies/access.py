"""What a participant may act on: their own task, and an answer once it has arrived."""

from __future__ import annotations

from codearena.store import Store, repo
from codearena.store.models import Generation
from codearena.store.platform_models import StudyTask
from codearena.studies.errors import Conflict, UnknownItem


def own_task(store: Store, participant_id: str, study_task_id: str) -> StudyTask:
    """The participant's own task; someone else's is reported exactly like a missing one."""
    with store.session() as session:
        row = session.get(StudyTask, study_task_id)
    if row is None or row.participant_id != participant_id:
        raise UnknownItem("no such task")
    return row


def generations_of(store: Store, row: StudyTask) -> list[Generation]:
    """Every answer of a task, once the last one has arrived (a vote compares them all)."""
    if row.status == "running" or row.task_id is None:
        raise Conflict("wait until every answer of this task has arrived")
    task = repo.get_task(store, row.task_id)
    generations = list(task.generations) if task else []
    if any(g.status == "pending" for g in generations):
        raise Conflict("wait until every answer of this task has arrived")
    return generations


def generation_at(store: Store, row: StudyTask, position: int, turn: int = 1) -> Generation:
    """One answer (at ``turn`` of its conversation, 1 = the first answer), as soon as it has
    arrived (the others may still be streaming)."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    generations = list(task.generations) if task else []
    if not generations and row.status == "running":
        raise Conflict("wait until this answer has arrived")
    at = {g.position: g for g in generations if g.turn == turn}
    if turn == 1 and not 0 <= position < len(row.models):
        raise UnknownItem(f"this task has no answer {position}")
    if position not in at:
        where = f" at turn {turn}" if turn != 1 else ""
        raise UnknownItem(f"this task has no answer {position}{where}")
    if at[position].status == "pending":
        raise Conflict("wait until this answer has arrived")
    return at[position]
