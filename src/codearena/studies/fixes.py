"""Fix it yourself, measured: a participant edits an answer's code block, runs it against the
task's tests and ends the attempt (``done`` or ``abandoned``); each attempt is one ``fixes`` row.

**One attempt per participant and answer.** Opening the editor on an answer (any of its code
blocks) starts the attempt, or resumes the open one (after a reload); once it has ended it cannot
be started again (:class:`Conflict`), so the time to fix is one figure per participant and
answer. Only the participant whose task it is may start, run or end it: another participant's
attempt is reported like a missing one (:class:`UnknownItem`).

**Active time.** The server, never the browser's clock, times the attempt. Its activity events
are: opening (or resuming) it, each input ping the browser sends while the participant types or
clicks in the editor (at most one every :data:`PING_S` seconds while there is input; the ping
carries only how many inputs it covers, never what was typed), each run and the end. The time
between two consecutive events counts when it is at most :data:`IDLE_GAP_S` (60 s); a longer gap
(the participant was away) counts nothing. ``active_seconds`` is that sum, so it never exceeds
``ended_at - started_at``. Every function takes ``now`` so that tests can give the times.

**Runs** go through the one execution step (``evaluation.execute_answer``, as the Run button's
``studies.runs``): the answer's blocks with the edited block in place, against the task's tests,
stored as an execution of the answer's generation with ``source = "fix"``
(``store.vocabulary.FIX_RUN_SOURCE``). Such a run measures the participant's code, not the
model's: ``store.study_rows`` leaves it out of the study's executions (pass rates, exports) and a
repair round never sends it back; its verdict is the attempt's ``verdict`` and it counts in
``runs``. The run updates the attempt in the execution's transaction.

**Lines changed** (``lines_added``, ``lines_removed``): ``difflib.SequenceMatcher`` over the
lines of the generated block and of the latest code (at each run and at the end).

**Per model** (:func:`fix_summary`, the study dashboard): of the study's answers with code, the
share fixed by hand (an attempt ``done``), the median active time and lines changed of those
attempts, and beside it the median of the participants' own "minutes to make it usable" estimate
for the same answers.
"""

from __future__ import annotations

import dataclasses
import difflib
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from codearena.answers import CodeBlock, Program, stored_blocks
from codearena.evaluation import execute_answer
from codearena.sandbox import ExecResult, Limits, Sandbox, SandboxError, SandboxUnavailable
from codearena.store import Store, study_rows
from codearena.store.models import Execution, Generation
from codearena.store.platform_models import Fix, Study, StudyTask
from codearena.store.vocabulary import FIX_RUN_SOURCE, FixOutcome
from codearena.studies.access import generation_at
from codearena.studies.errors import Conflict, RunUnavailable, StudyError, UnknownItem
from codearena.studies.runs import RunPlan, plan_run

IDLE_GAP_S = 60.0
"""A gap between two activity events longer than this (no input) counts nothing."""
PING_S = 10.0
"""The browser sends at most one input ping this often while there is input."""
MAX_CODE_CHARS = 100_000


class FixStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    block_index: int = Field(default=0, ge=0, description="index of the answer's code block")


class FixActivity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: int = Field(ge=1, le=1_000_000, description="inputs since the previous ping")


class FixCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=MAX_CODE_CHARS, description="the editor's code")


# --- the two measurements -------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    """A stored time as UTC (SQLite hands times back naive; they were written in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def gap_seconds(last: datetime, now: datetime) -> float:
    """What the time from one activity event to the next adds: all of it up to
    :data:`IDLE_GAP_S`, nothing beyond (nor for a clock that went back)."""
    gap = (_aware(now) - _aware(last)).total_seconds()
    return gap if 0.0 < gap <= IDLE_GAP_S else 0.0


def active_seconds(times: Iterable[datetime]) -> float:
    """The active time of a series of activity events (in order): the rule of ``fixes``."""
    total, last = 0.0, None
    for now in times:
        if last is not None:
            total += gap_seconds(last, now)
            last = max(_aware(last), _aware(now))
        else:
            last = _aware(now)
    return total


def line_changes(original: str, final: str) -> tuple[int, int]:
    """(lines added, lines removed) from ``original`` to ``final``, by line."""
    before, after = original.splitlines(), final.splitlines()
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


# --- the attempt ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FixView:
    """An attempt with what the page needs beside the row: the answer it fixes (position and
    turn, never the model) and the generated code it started from."""

    fix: Fix
    position: int
    turn: int
    original: str
    resumed: bool = False

    @property
    def code(self) -> str:
        """The code the editor holds: the latest the server has seen, else the generated one."""
        return self.fix.final_code if self.fix.final_code is not None else self.original


def _touch(fix: Fix, now: datetime) -> None:
    """One activity event at ``now``."""
    last = _aware(fix.last_activity_at or fix.started_at)
    fix.active_seconds = (fix.active_seconds or 0.0) + gap_seconds(last, now)
    fix.last_activity_at = max(last, _aware(now))


def _original(blocks: list[CodeBlock], index: int) -> str:
    if not 0 <= index < len(blocks):
        raise UnknownItem(f"this answer has no code block {index}")
    return blocks[index].source


def _set_code(fix: Fix, code: str, original: str) -> None:
    fix.final_code = code
    fix.lines_added, fix.lines_removed = line_changes(original, code)


def _view(session: Session, fix: Fix, resumed: bool = False) -> FixView:
    generation = session.get(Generation, fix.generation_id)
    if generation is None:  # cascades with its generation: cannot happen
        raise UnknownItem("no such fix")
    blocks = stored_blocks(generation.code or [])
    original = blocks[fix.block_index].source if fix.block_index < len(blocks) else ""
    return FixView(fix, generation.position, generation.turn, original, resumed)


def _find(session: Session, generation_id: str, participant: str) -> Fix | None:
    return session.scalars(
        select(Fix).where(Fix.generation_id == generation_id, Fix.participant == participant)
    ).first()


def _ended(fix: Fix) -> Conflict:
    word = "done" if fix.outcome == "done" else "abandoned"
    return Conflict(f"this fix has ended ({word}); an answer is fixed by hand once")


def start_fix(
    store: Store, row: StudyTask, position: int, data: FixStart, turn: int = 1, *, now: datetime
) -> FixView:
    """Start the participant's attempt at fixing one arrived answer (at ``turn``), or resume
    the open one; an ended attempt is a :class:`Conflict`."""
    generation = generation_at(store, row, position, turn)
    _original(stored_blocks(generation.code or []), data.block_index)
    for _ in range(2):  # a second browser racing this one: its row wins, this one resumes it
        try:
            with store.session() as session:
                found = _find(session, generation.id, row.participant_id)
                if found is not None:
                    if found.outcome is not None:
                        raise _ended(found)
                    _touch(found, now)
                    return _view(session, found, resumed=True)
                fix = Fix(
                    generation_id=generation.id,
                    participant=row.participant_id,
                    study_task_id=row.id,
                    block_index=data.block_index,
                    started_at=now,
                    last_activity_at=now,
                    active_seconds=0.0,
                    runs=0,
                )
                session.add(fix)
                session.flush()
                return _view(session, fix)
        except IntegrityError:
            continue
    raise Conflict("this fix was started twice at once: try again")


def _own(
    session: Session, study_task_id: str, participant: str, fix_id: str, *, lock: bool = False
) -> Fix:
    """The attempt ``fix_id`` on this study task by its participant; any other is unknown."""
    fix = session.get(Fix, fix_id, with_for_update=lock)
    if fix is None or fix.participant != participant or fix.study_task_id != study_task_id:
        raise UnknownItem("no such fix")
    return fix


def get_fix(store: Store, row: StudyTask, fix_id: str) -> FixView:
    with store.session() as session:
        return _view(session, _own(session, row.id, row.participant_id, fix_id))


def task_fixes(store: Store, row: StudyTask) -> list[FixView]:
    """The participant's attempts on this task's answers, oldest first."""
    with store.session() as session:
        fixes = session.scalars(
            select(Fix)
            .where(Fix.study_task_id == row.id, Fix.participant == row.participant_id)
            .order_by(Fix.started_at, Fix.id)
        ).all()
        return [_view(session, fix) for fix in fixes]


def record_activity(
    store: Store, row: StudyTask, fix_id: str, data: FixActivity, *, now: datetime
) -> FixView:
    """An input ping (``data.inputs`` inputs since the last one): one activity event."""
    with store.session() as session:
        fix = _own(session, row.id, row.participant_id, fix_id, lock=True)
        if fix.outcome is not None:
            raise _ended(fix)
        _touch(fix, now)
        return _view(session, fix)


def end_fix(
    store: Store,
    row: StudyTask,
    fix_id: str,
    outcome: FixOutcome,
    data: FixCode,
    *,
    now: datetime,
) -> FixView:
    """End the attempt (``done``: the participant is satisfied; ``abandoned``: gives up) with
    the editor's code as its final code."""
    with store.session() as session:
        fix = _own(session, row.id, row.participant_id, fix_id, lock=True)
        if fix.outcome is not None:
            raise _ended(fix)
        view = _view(session, fix)
        _touch(fix, now)
        fix.ended_at = max(_aware(now), _aware(fix.started_at))
        fix.outcome = outcome
        _set_code(fix, data.code, view.original)
        return view


# --- runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixRunPlan:
    fix_id: str
    code: str
    original: str
    run: RunPlan


@dataclass(frozen=True)
class FixRunOutcome:
    execution_id: str
    language: str
    result: ExecResult
    view: FixView


def plan_fix_run(store: Store, row: StudyTask, fix_id: str, data: FixCode) -> FixRunPlan:
    """The run of the edited code: the Run button's plan (``runs.plan_run``: program, language,
    tests) with the attempt's block replaced by ``data.code``; nothing runs yet."""
    with store.session() as session:
        fix = _own(session, row.id, row.participant_id, fix_id)
        if fix.outcome is not None:
            raise _ended(fix)
        view = _view(session, fix)
    plan = plan_run(store, row, view.position, fix.block_index, view.turn)
    blocks = list(plan.blocks)
    blocks[fix.block_index] = dataclasses.replace(blocks[fix.block_index], source=data.code)
    program = Program(data.code, plan.language, fix.block_index)
    run = dataclasses.replace(plan, blocks=blocks, program=program)
    return FixRunPlan(fix_id, data.code, view.original, run)


async def execute_fix_run(
    store: Store, sandbox: Sandbox, plan: FixRunPlan, *, timeout_s: float, now: datetime
) -> FixRunOutcome:
    """Run the edited code through the one execution step and count it in the attempt (one
    activity event at ``now``, ``runs`` + 1, the verdict, the code and its lines changed), in
    the execution's transaction."""

    def link(session: Session, execution: Execution) -> None:
        fix = session.get(Fix, plan.fix_id, with_for_update=True)
        if fix is None or fix.outcome is not None:  # ended meanwhile: the run is not counted
            return
        _touch(fix, now)
        fix.runs = (fix.runs or 0) + 1
        fix.verdict = execution.verdict
        _set_code(fix, plan.code, plan.original)

    run = plan.run
    try:
        executed = await execute_answer(
            store,
            sandbox,
            task_id=run.task_id,
            generation_id=run.generation_id,
            blocks=run.blocks,
            language=run.task_language,
            tests=run.tests,
            source=FIX_RUN_SOURCE,
            limits=Limits(timeout_s=timeout_s),
            block_index=run.block_index,
            link=link,
        )
    except SandboxUnavailable as exc:
        raise RunUnavailable(f"the sandbox is not available on this server: {exc}") from exc
    except SandboxError as exc:
        raise StudyError(str(exc)) from exc
    with store.session() as session:
        fix = _own(session, run.study_task_id, run.participant_id, plan.fix_id)
        view = _view(session, fix)
    return FixRunOutcome(executed.execution_id, run.language, executed.result, view)


# --- per model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFixes:
    """One model's answers fixed by hand in a study."""

    model: str
    answers: int  # the study's answers with code (status ok), every turn
    attempts: int
    done: int
    abandoned: int
    passed: int  # done attempts whose last run passed the tests
    fixed_share: float | None  # done / answers
    median_active_s: float | None  # of the done attempts
    median_lines_changed: float | None  # added + removed, of the done attempts
    median_estimate_min: float | None  # the ratings' minutes to usable of the fixed answers

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def fix_summary(store: Store, study_id: str) -> list[ModelFixes]:
    """Per model (the study's models in its order, then any other that answered), over
    ``store.study_rows``."""
    with store.session() as session:
        study = session.get(Study, study_id)
        order = [str(m) for m in study.models] if study is not None else []
        generations = session.scalars(study_rows.generations(study_id)).all()
        attempts = session.scalars(study_rows.fixes(study_id)).all()
        ratings = session.scalars(study_rows.ratings(study_id)).all()
    model_of = {g.id: g.model for g in generations}
    answers: defaultdict[str, int] = defaultdict(int)
    for g in generations:
        if g.status == "ok" and g.code:
            answers[g.model] += 1
    by_model: defaultdict[str, list[Fix]] = defaultdict(list)
    for fix in attempts:
        if fix.generation_id in model_of:
            by_model[model_of[fix.generation_id]].append(fix)
    estimates: defaultdict[str, list[float]] = defaultdict(list)
    for rating in ratings:
        if rating.generation_id is not None and rating.minutes_to_usable is not None:
            estimates[rating.generation_id].append(rating.minutes_to_usable)
    result = []
    for model in dict.fromkeys([*order, *answers, *by_model]):
        tried = by_model.get(model, [])
        done = [f for f in tried if f.outcome == "done"]
        fixed = {f.generation_id for f in done}
        n = answers.get(model, 0)
        result.append(
            ModelFixes(
                model=model,
                answers=n,
                attempts=len(tried),
                done=len(done),
                abandoned=sum(f.outcome == "abandoned" for f in tried),
                passed=sum(f.verdict == "passed" for f in done),
                fixed_share=len(fixed) / n if n else None,
                median_active_s=_median([f.active_seconds or 0.0 for f in done]),
                median_lines_changed=_median(
                    [float((f.lines_added or 0) + (f.lines_removed or 0)) for f in done]
                ),
                median_estimate_min=_median([m for g in fixed for m in estimates.get(g, [])]),
            )
        )
    return result


__all__ = [
    "IDLE_GAP_S",
    "MAX_CODE_CHARS",
    "PING_S",
    "FixActivity",
    "FixCode",
    "FixRunOutcome",
    "FixRunPlan",
    "FixStart",
    "FixView",
    "ModelFixes",
    "active_seconds",
    "end_fix",
    "execute_fix_run",
    "fix_summary",
    "gap_seconds",
    "get_fix",
    "line_changes",
    "plan_fix_run",
    "record_activity",
    "start_fix",
    "task_fixes",
]
