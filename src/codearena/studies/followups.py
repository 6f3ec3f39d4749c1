"""Follow-ups and repair rounds of a participant's task: every model continues its own
conversation (:mod:`codearena.conversations`). Planned here, before anything is stored or paid
for: the study is open, the participant's budget has room (a follow-up costs like a task), no
answer of the task is still arriving, and each conversation passes the turn limit and the
context guard (a :class:`~codearena.conversations.ConversationError` becomes a
:class:`StudyError` with its message). The calls themselves are made by the web layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from codearena.conversations import ConversationError, next_turn
from codearena.evaluation import stored_result
from codearena.pipeline import Context, Turn
from codearena.repair import repair_prompt
from codearena.sandbox import ExecResult
from codearena.store import Store, repo
from codearena.store.models import Execution, Generation
from codearena.store.platform_models import StudyTask
from codearena.store.vocabulary import FIX_RUN_SOURCE, GenerationKind
from codearena.studies.access import generation_at
from codearena.studies.errors import Conflict, NotAllowed, StudyError
from codearena.studies.study import get_study
from codearena.studies.tasks import budget_reason
from codearena.testspecs import spec_from_json

MAX_FOLLOW_UP_CHARS = 20_000
# blind mode: what the other side of a repair round is sent when its own last run did not fail
SAME_TURN = (
    "Check your code once more against the task and its tests, and reply with the complete "
    "program in one fenced code block."
)


class FollowUpInput(BaseModel):
    """A follow-up sent to every model of a task (the page's box and the JSON route)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="what every model should change or add (the next turn)")


class RepairInput(BaseModel):
    """Send an answer's failed run back to its model (``turn``: the answer's turn, default
    its latest)."""

    model_config = ConfigDict(extra="forbid")
    turn: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class FollowUpPlan:
    """The turns to generate, one per answering position, all of one pipeline task."""

    task_id: str
    turns: list[Turn]

    @property
    def round(self) -> int:
        """The highest turn number of the round (its key for the live stream)."""
        return max(t.turn for t in self.turns)


def latest(store: Store, row: StudyTask) -> dict[int, Generation]:
    """The last turn of every position's conversation."""
    task = repo.get_task(store, row.task_id) if row.task_id else None
    last: dict[int, Generation] = {}
    for g in task.generations if task else []:
        if g.position not in last or g.turn > last[g.position].turn:
            last[g.position] = g
    return last


def _check(store: Store, row: StudyTask) -> dict[int, Generation]:
    if row.status == "running" or row.task_id is None:
        raise Conflict("wait until every answer of this task has arrived")
    study = get_study(store, row.study_id)
    if study.status != "open":
        raise NotAllowed("this study is closed")
    reason = budget_reason(store, study, row.participant_id)
    if reason is not None:
        raise NotAllowed(reason)
    last = latest(store, row)
    if any(g.status == "pending" for g in last.values()):
        raise Conflict("wait until every answer of this task has arrived")
    return last


def _plan(
    context: Context,
    row: StudyTask,
    parents: Sequence[Generation],
    prompts: Sequence[str],
    kind: GenerationKind,
) -> FollowUpPlan:
    planned = []
    try:
        for parent, prompt in zip(parents, prompts, strict=True):
            planned.append(next_turn(context, parent.id, prompt, kind))
    except ConversationError as exc:
        message = str(exc)
        if row.mode == "blind" and not row.revealed:  # the guards' messages name the model
            for parent in parents:
                message = message.replace(parent.model, _side(parent.position))
        raise StudyError(message) from exc
    return FollowUpPlan(planned[0][0], [turn for _, turn in planned])


def _side(position: int) -> str:
    return f"Model {'AB'[position]}" if position < 2 else f"Model {position + 1}"


def plan_follow_up(context: Context, row: StudyTask, data: FollowUpInput) -> FollowUpPlan:
    """The same follow-up for every model of the task, each after its own last turn."""
    if len(data.text) > MAX_FOLLOW_UP_CHARS:
        raise StudyError(f"the follow-up is too long (limit {MAX_FOLLOW_UP_CHARS:,} characters)")
    last = _check(context.store, row)
    parents = [last[p] for p in sorted(last)]
    return _plan(context, row, parents, [data.text] * len(parents), "follow_up")


def last_run(store: Store, generation_id: str) -> ExecResult | None:
    """The latest stored run of an answer, as the sandbox gave it (a fix run is not one)."""
    with store.session() as session:
        ex = session.scalars(
            select(Execution)
            .where(Execution.generation_id == generation_id)
            .where(Execution.source != FIX_RUN_SOURCE)  # a fix run is the participant's code
            .order_by(Execution.created_at.desc())
        ).first()
    return stored_result(ex) if ex is not None else None


def plan_repair(context: Context, row: StudyTask, position: int, data: RepairInput) -> FollowUpPlan:
    """Send the failure of an answer's last run back to that model (kind ``repair``,
    ``repair.repair_prompt``); the answer must be its conversation's latest turn. Named: only
    that model answers. Blind: the other side gets the same turn, so that the pair stays
    comparable: the failure of its own last run if it failed, else :data:`SAME_TURN`."""
    last = _check(context.store, row)
    if position not in last:
        raise StudyError(f"this task has no answer {position}")
    turn = data.turn or last[position].turn
    generation = generation_at(context.store, row, position, turn)
    if generation.id != last[position].id:
        raise Conflict("this answer has a later turn already: send the error of the latest one")
    result = last_run(context.store, generation.id)
    if result is None or result.passed:
        raise StudyError("run this answer first: only a run that did not pass can be sent back")
    tests = spec_from_json(row.tests)
    parents, prompts = [generation], [repair_prompt(result, tests)]
    if row.mode == "blind":
        for other in sorted(p for p in last if p != position):
            own = last_run(context.store, last[other].id)
            parents.append(last[other])
            prompts.append(repair_prompt(own, tests) if own and not own.passed else SAME_TURN)
    return _plan(context, row, parents, prompts, "repair")
