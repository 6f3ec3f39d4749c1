"""Fix it yourself: the active-time rule, lines changed, runs through the one execution step,
done and abandoned, one attempt per participant and answer, and who may touch an attempt.

Every time is given to the service (``now=``): nothing here depends on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from codearena import evaluation
from codearena.answers import Program
from codearena.sandbox import ExecResult, TestSpec, UnisolatedSandbox
from codearena.store import study_rows
from codearena.store.models import Execution, Generation
from codearena.store.platform_models import Fix, StudyExecution, StudyTask
from codearena.studies import fixes
from codearena.studies.errors import Conflict, UnknownItem
from codearena.studies.fixes import FixActivity, FixCode, FixStart
from codearena.studies.followups import last_run
from tests.studies.conftest import World

T0 = datetime(2026, 3, 4, 9, 0, 0, tzinfo=UTC)
WRONG = "```python\ndef add(a, b):\n    return a - b\n```\n"
FIXED = "def add(a, b):\n    # plus, not minus\n    return a + b\n"
TESTS = {"kind": "python", "code": "assert add(1, 2) == 3\n", "examples": []}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the two measurements -------------------------------------------------------------------


def test_gaps_up_to_60_seconds_count_and_longer_ones_count_nothing() -> None:
    # typing for 30 s (a ping every 10 s), away for 5 minutes, then 5 s more to the end
    times = [at(s) for s in (0, 10, 20, 30, 330, 335)]
    assert fixes.active_seconds(times) == 35.0
    assert fixes.active_seconds([at(0), at(60)]) == 60.0  # exactly 60 s still counts
    assert fixes.active_seconds([at(0), at(60.5)]) == 0.0  # over 60 s: none of it
    assert fixes.active_seconds([at(0)]) == 0.0
    assert fixes.active_seconds([]) == 0.0


def test_a_clock_going_back_adds_nothing_and_naive_times_are_utc() -> None:
    assert fixes.gap_seconds(at(10), at(5)) == 0.0
    naive = at(0).replace(tzinfo=None)  # SQLite hands stored times back naive
    assert fixes.gap_seconds(naive, at(12)) == 12.0
    assert fixes.active_seconds([at(10), at(5), at(15)]) == 5.0  # from the latest event seen


def test_lines_added_and_removed_against_the_generated_code() -> None:
    original = "def add(a, b):\n    return a - b\n"
    assert fixes.line_changes(original, FIXED) == (2, 1)
    assert fixes.line_changes(original, original.rstrip("\n")) == (0, 0)  # a final newline
    assert fixes.line_changes(original, "") == (0, 2)
    assert fixes.line_changes("", "x = 1\ny = 2\n") == (2, 0)
    assert fixes.line_changes("a\nb\nc\n", "a\nB\nc\nd\n") == (2, 1)


# --- the attempt ----------------------------------------------------------------------------


def _passed(program: Program) -> ExecResult:
    passed = "a + b" in program.source
    return ExecResult(
        verdict="passed" if passed else "failed",
        exit_code=0 if passed else 1,
        signal=None,
        stdout="",
        stderr="" if passed else "AssertionError",
        duration_ms=1.0,
        backend="stub",
        tests_passed=int(passed),
        tests_total=1,
    )


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[Program]:
    """The programs the one execution step ran (the sandbox is stubbed, the storing is not)."""
    programs: list[Program] = []

    async def fake(sandbox: Any, program: Program, tests: TestSpec | None, limits: Any) -> Any:
        programs.append(program)
        return _passed(program)

    monkeypatch.setattr(evaluation, "aexecute", fake)
    return programs


def _row(world: World, mode: str = "named") -> StudyTask:
    study = world.study(mode)
    return world.task(study, world.participant(study), texts=[WRONG, WRONG], tests=TESTS)


def _fix(world: World, fix_id: str) -> Fix:
    with world.store.session() as session:
        fix = session.get(Fix, fix_id)
        assert fix is not None
        return fix


async def test_a_fix_is_started_run_and_done_with_its_measured_time(
    world: World, ran: list[Program]
) -> None:
    row = _row(world)
    store = world.store
    view = fixes.start_fix(store, row, 0, FixStart(), now=at(0))
    assert (view.position, view.turn, view.resumed) == (0, 1, False)
    assert view.code == view.original == "def add(a, b):\n    return a - b"
    fixes.record_activity(store, row, view.fix.id, FixActivity(inputs=4), now=at(10))
    fixes.record_activity(store, row, view.fix.id, FixActivity(inputs=2), now=at(20))

    plan = fixes.plan_fix_run(store, row, view.fix.id, FixCode(code=FIXED))
    outcome = await fixes.execute_fix_run(
        store, UnisolatedSandbox(), plan, timeout_s=1.0, now=at(25)
    )
    assert outcome.result.verdict == "passed" and outcome.language == "python"
    assert [p.source for p in ran] == [FIXED]  # the edited code ran, not the answer's
    assert outcome.view.fix.runs == 1 and outcome.view.code == FIXED

    # a break of five minutes, then Done
    fixes.record_activity(store, row, view.fix.id, FixActivity(inputs=1), now=at(325))
    done = fixes.end_fix(store, row, view.fix.id, "done", FixCode(code=FIXED), now=at(330))
    assert done.fix.outcome == "done"

    stored = _fix(world, view.fix.id)
    assert stored.participant == row.participant_id
    assert stored.runs == 1 and stored.verdict == "passed" and stored.outcome == "done"
    assert stored.active_seconds == 30.0  # 10 + 10 + 5 + (300 not counted) + 5
    assert (stored.lines_added, stored.lines_removed) == (2, 1)
    assert stored.final_code == FIXED
    assert stored.ended_at is not None and stored.ended_at.replace(tzinfo=UTC) == at(330)


async def test_a_fix_run_is_stored_but_is_not_the_models_execution(
    world: World, ran: list[Program]
) -> None:
    row = _row(world)
    view = fixes.start_fix(world.store, row, 0, FixStart(), now=at(0))
    plan = fixes.plan_fix_run(world.store, row, view.fix.id, FixCode(code=FIXED))
    outcome = await fixes.execute_fix_run(
        world.store, UnisolatedSandbox(), plan, timeout_s=1.0, now=at(3)
    )
    with world.store.session() as session:
        execution = session.get(Execution, outcome.execution_id)
        assert execution is not None and execution.source == "fix"
        assert execution.generation_id == view.fix.generation_id
        assert session.scalars(select(StudyExecution)).all() == []  # no Run link
        assert session.scalars(study_rows.executions(row.study_id)).all() == []
        assert len(session.scalars(study_rows.fixes(row.study_id)).all()) == 1
    assert last_run(world.store, view.fix.generation_id) is None  # never sent back as a repair


async def test_a_failed_run_is_the_verdict_until_the_next_one(
    world: World, ran: list[Program]
) -> None:
    row = _row(world)
    view = fixes.start_fix(world.store, row, 1, FixStart(), now=at(0))
    for code, moment in (("def add(a, b):\n    return b - a\n", 5), (FIXED, 15)):
        plan = fixes.plan_fix_run(world.store, row, view.fix.id, FixCode(code=code))
        out = await fixes.execute_fix_run(
            world.store, UnisolatedSandbox(), plan, timeout_s=1.0, now=at(moment)
        )
        if moment == 5:
            assert out.view.fix.verdict == "failed"
    stored = _fix(world, view.fix.id)
    assert (stored.runs, stored.verdict, stored.active_seconds) == (2, "passed", 15.0)


def test_an_abandoned_fix_ends_and_cannot_go_on(world: World) -> None:
    row = _row(world)
    store = world.store
    view = fixes.start_fix(store, row, 0, FixStart(), now=at(0))
    edited = "def add(a, b):\n    return a * b\n"
    gave_up = fixes.end_fix(store, row, view.fix.id, "abandoned", FixCode(code=edited), now=at(40))
    assert gave_up.fix.outcome == "abandoned" and gave_up.fix.runs == 0
    stored = _fix(world, view.fix.id)
    assert (stored.active_seconds, stored.verdict) == (40.0, None)
    assert (stored.lines_added, stored.lines_removed) == (1, 1)
    with pytest.raises(Conflict, match="has ended"):
        fixes.record_activity(store, row, view.fix.id, FixActivity(inputs=1), now=at(41))
    with pytest.raises(Conflict, match="has ended"):
        fixes.plan_fix_run(store, row, view.fix.id, FixCode(code=FIXED))
    with pytest.raises(Conflict, match="has ended"):
        fixes.end_fix(store, row, view.fix.id, "done", FixCode(code=FIXED), now=at(42))
    with pytest.raises(Conflict, match="fixed by hand once"):
        fixes.start_fix(store, row, 0, FixStart(), now=at(43))
    assert _fix(world, view.fix.id).outcome == "abandoned"


def test_one_attempt_per_participant_and_answer_is_resumed(world: World) -> None:
    row = _row(world)
    store = world.store
    first = fixes.start_fix(store, row, 0, FixStart(), now=at(0))
    again = fixes.start_fix(store, row, 0, FixStart(), now=at(20))  # a reload: the same one
    assert again.fix.id == first.fix.id and again.resumed
    other = fixes.start_fix(store, row, 1, FixStart(), now=at(21))  # another answer: its own
    assert other.fix.id != first.fix.id
    assert _fix(world, first.fix.id).active_seconds == 20.0
    assert [v.fix.id for v in fixes.task_fixes(store, row)] == [first.fix.id, other.fix.id]
    with world.store.session() as session:
        assert len(session.scalars(select(Fix)).all()) == 2


def test_only_the_participant_of_the_task_may_touch_an_attempt(world: World) -> None:
    study = world.study()
    mine = world.task(study, world.participant(study), texts=[WRONG, WRONG], tests=TESTS)
    theirs = world.task(study, world.participant(study), texts=[WRONG, WRONG], tests=TESTS)
    view = fixes.start_fix(world.store, mine, 0, FixStart(), now=at(0))
    with pytest.raises(UnknownItem, match="no such fix"):
        fixes.record_activity(world.store, theirs, view.fix.id, FixActivity(inputs=1), now=at(1))
    with pytest.raises(UnknownItem, match="no such fix"):
        fixes.end_fix(world.store, theirs, view.fix.id, "done", FixCode(code="x"), now=at(1))
    with pytest.raises(UnknownItem, match="no such fix"):
        fixes.plan_fix_run(world.store, theirs, view.fix.id, FixCode(code="x"))
    with pytest.raises(UnknownItem, match="no such fix"):
        fixes.get_fix(world.store, theirs, view.fix.id)
    assert _fix(world, view.fix.id).outcome is None  # nothing changed


def test_an_unknown_block_or_an_answer_still_arriving_is_refused(world: World) -> None:
    row = _row(world)
    with pytest.raises(UnknownItem, match="no code block 3"):
        fixes.start_fix(world.store, row, 0, FixStart(block_index=3), now=at(0))
    with pytest.raises(UnknownItem, match="no answer 5"):
        fixes.start_fix(world.store, row, 5, FixStart(), now=at(0))
    with world.store.session() as session:
        generation = session.scalars(
            select(Generation).where(Generation.task_id == row.task_id, Generation.position == 1)
        ).one()
        generation.status = "pending"
    with pytest.raises(Conflict, match="wait until this answer has arrived"):
        fixes.start_fix(world.store, row, 1, FixStart(), now=at(0))


def test_code_is_capped_and_pings_carry_a_count() -> None:
    with pytest.raises(ValueError, match="at most 100000 characters"):
        FixCode(code="x" * (fixes.MAX_CODE_CHARS + 1))
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        FixActivity(inputs=0)
    with pytest.raises(ValueError, match="Extra inputs"):
        FixActivity.model_validate({"inputs": 1, "text": "what was typed"})


def test_the_summary_per_model_counts_answers_fixed_by_hand(world: World) -> None:
    study = world.study()
    person = world.participant(study)
    row = world.task(study, person, texts=[WRONG, "no code"], tests=TESTS)
    first = fixes.start_fix(world.store, row, 0, FixStart(), now=at(0))
    fixes.end_fix(world.store, row, first.fix.id, "done", FixCode(code=FIXED), now=at(30))
    second_row = world.task(study, person, texts=[WRONG, WRONG], tests=TESTS)
    second = fixes.start_fix(world.store, second_row, 0, FixStart(), now=at(0))
    fixes.end_fix(world.store, second_row, second.fix.id, "done", FixCode(code=FIXED), now=at(50))
    gave_up = fixes.start_fix(world.store, second_row, 1, FixStart(), now=at(0))
    fixes.end_fix(world.store, second_row, gave_up.fix.id, "abandoned", FixCode(code=""), now=at(9))

    a, b = (fixes.fix_summary(world.store, study.id)[i] for i in (0, 1))
    assert (a.model, b.model) == (study.models[0], study.models[1])
    assert (a.answers, a.attempts, a.done, a.abandoned, a.passed) == (2, 2, 2, 0, 0)
    assert a.fixed_share == 1.0 and a.median_active_s == 40.0  # median of 30 and 50
    assert a.median_lines_changed == 3.0 and a.median_estimate_min is None
    assert (b.answers, b.attempts, b.done, b.abandoned) == (1, 1, 0, 1)  # "no code": not counted
    assert b.fixed_share == 0.0 and b.median_active_s is None
