"""The battles of a study a judge is asked about: each blind vote with what its voter saw.

A battle is a ``battle`` vote of the study (read through :mod:`codearena.store.study_rows`, the
one definition of a study's rows) whose study task has both answers: side A is position 0 of
the task, side B position 1 (the order the voter saw, ``model_a`` and ``model_b``). Each side is
its conversation up to the turns the voter had seen (``turns_seen``; 1 for votes stored before
turns were counted), and its latest execution, if it ever ran. Votes on tasks whose answers
failed, and imported votes (there is no answer text), are left out and counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from codearena.judging.prompt import Side, execution_summary
from codearena.store import Generation, Store
from codearena.store import study_rows as rows
from codearena.store.models import Execution
from codearena.store.platform_models import StudyTask, Vote
from codearena.store.vocabulary import VoteValue


@dataclass(frozen=True)
class Battle:
    vote_id: str
    model_a: str
    model_b: str
    human: VoteValue
    flagged: bool
    task: str
    side_a: Side
    side_b: Side
    side_a_run: Side
    """Side A with its execution (equal to ``side_a`` when it never ran)."""
    side_b_run: Side


@dataclass(frozen=True)
class StudyBattles:
    battles: list[Battle]
    skipped: dict[str, int]
    """Votes left out, by reason."""


def load_battles(store: Store, study_id: str) -> StudyBattles:
    """Every judgeable battle of the study, oldest vote first (see the module doc)."""
    skipped: dict[str, int] = defaultdict(int)
    with store.session() as session:
        votes = session.scalars(rows.votes(study_id).order_by(Vote.created_at, Vote.id)).all()
        study_tasks = {st.id: st for st in session.scalars(rows.study_tasks(study_id))}
        task_ids = {st.task_id for st in study_tasks.values() if st.task_id}
        generations: dict[tuple[str, int], list[Generation]] = defaultdict(list)
        for generation in session.scalars(
            select(Generation)
            .where(Generation.task_id.in_(task_ids), Generation.status == "ok")
            .order_by(Generation.turn)
        ):
            generations[(generation.task_id, generation.position)].append(generation)
        latest: dict[str, Execution] = {}
        generation_ids = [g.id for chain in generations.values() for g in chain]
        for execution in session.scalars(
            select(Execution)
            .where(Execution.generation_id.in_(generation_ids))
            .order_by(Execution.created_at, Execution.id)
        ):
            latest[execution.generation_id] = execution
        battles: list[Battle] = []
        for vote in votes:
            if vote.kind != "battle":
                continue
            study_task: StudyTask | None = study_tasks.get(vote.study_task_id)
            if vote.choice is None or not vote.model_a or not vote.model_b:
                skipped["no choice or no models"] += 1
                continue
            if study_task is None or study_task.task_id is None:
                skipped["no answers stored"] += 1
                continue
            seen = vote.turns_seen or 1
            chains = [
                [g for g in generations.get((study_task.task_id, p), []) if g.turn <= seen]
                for p in (0, 1)
            ]
            if not chains[0] or not chains[1]:
                skipped["an answer failed or is missing"] += 1
                continue
            sides = [Side([(g.prompt if g.turn > 1 else None, g.text) for g in c]) for c in chains]
            runs = []
            for side, chain in zip(sides, chains, strict=True):
                ran = latest.get(chain[-1].id)
                summary = (
                    execution_summary(
                        ran.verdict, ran.tests_passed, ran.tests_total, ran.stdout, ran.stderr
                    )
                    if ran is not None
                    else "this answer was never run"
                )
                runs.append(Side(side.turns, summary))
            battles.append(
                Battle(
                    vote.id,
                    vote.model_a,
                    vote.model_b,
                    vote.choice,
                    bool(vote.self_identified),
                    study_task.prompt,
                    sides[0],
                    sides[1],
                    runs[0],
                    runs[1],
                )
            )
    return StudyBattles(battles, dict(skipped))
