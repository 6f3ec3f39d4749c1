"""The export and the analysis read the same rows of a study (``store.study_rows``): the
report's headline numbers, recomputed from the export files alone with plain Python, are the
analysis's."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from codearena.analysis import analyse_study
from codearena.exports import export_study
from codearena.reports.build import build_report
from codearena.store import Store
from codearena.store.models import Execution, Generation, Task
from codearena.store.platform_models import (
    Participant,
    Rating,
    Study,
    StudyExecution,
    StudyTask,
    Vote,
)
from codearena.store.research_models import ImportedVote
from tests.reports.realistic import MODELS, T0, make_realistic_study

ROUNDS = 20
WINNERS = {"a", "b", "tie", "both_bad"}


def _add_edge_rows(store: Store, study_id: str) -> None:
    """Rows the analysis and the export used to treat differently, or that a count must skip."""
    when = T0 + timedelta(days=20)
    a, b = MODELS[0], MODELS[1]
    with store.session() as s:
        who = s.scalars(
            select(Participant.id).where(Participant.study_id == study_id).limit(1)
        ).one()
        other = Study(name="Another study", models=MODELS, mode="blind", survey_name="x")
        s.add(other)
        s.flush()
        stranger = Participant(study_id=other.id, pseudonym="stranger")
        s.add(stranger)
        task = Task(prompt="edge task", output_language="Python", source="web", created_at=when)
        foreign_task = Task(prompt="the other study's task", source="web", created_at=when)
        s.add_all([task, foreign_task])
        s.flush()
        mine = StudyTask(
            task_id=task.id,
            study_id=study_id,
            participant_id=who,
            mode="blind",
            models=[a, b],
            prompt=task.prompt,
            status="done",
            created_at=when,
        )
        theirs = StudyTask(
            task_id=foreign_task.id,
            study_id=other.id,
            participant_id=stranger.id,
            mode="blind",
            models=[a, b],
            prompt=foreign_task.prompt,
            created_at=when,
        )
        s.add_all([mine, theirs])
        s.flush()
        ok = Generation(
            task_id=task.id, position=0, model=a, provider="openrouter", status="ok", cost_usd=0.01
        )
        failed = Generation(
            task_id=task.id,
            position=1,
            model=b,
            provider="openrouter",
            status="error",
            error="upstream 500",
            cost_usd=0.002,
        )
        pending = Generation(task_id=task.id, position=2, model=MODELS[2], provider="openrouter")
        foreign = Generation(
            task_id=foreign_task.id, model=a, provider="openrouter", status="ok", cost_usd=5.0
        )
        s.add_all([ok, failed, pending, foreign])
        s.flush()

        def run(generation: Generation, minutes: int, **fields: Any) -> Execution:
            row = Execution(
                generation_id=generation.id,
                task_id=generation.task_id,
                language="python",
                backend="bwrap",
                created_at=when + timedelta(minutes=minutes),
                **fields,
            )
            s.add(row)
            return row

        run(ok, 1, test_kind="python", verdict="failed")
        run(ok, 2, test_kind="python", verdict="passed")
        run(ok, 3, test_kind=None, verdict="ran", exit_code=0)  # no tests: not a pass
        run(ok, 4, test_kind="python", verdict="ran", exit_code=0)  # a stored 'ran' never is
        linked_foreign = run(foreign, 5, test_kind="python", verdict="passed")
        s.flush()
        # a participant's run of the other study's generation, linked to this study's task:
        # it used to be exported but not analysed
        s.add(
            StudyExecution(
                execution_id=linked_foreign.id,
                study_task_id=mine.id,
                participant_id=who,
                position=0,
            )
        )
        s.add(
            Rating(
                study_task_id=mine.id,
                position=0,
                generation_id=ok.id,
                participant_id=who,
                model=a,
                correctness=4,
                quality=7,  # not a 1-5 score
                updated_at=when,
            )
        )

        def vote(study_task: StudyTask, vote_study: str, **fields: Any) -> None:
            defaults: dict[str, Any] = {"kind": "battle", "model_a": a, "model_b": b}
            s.add(
                Vote(
                    study_task_id=study_task.id,
                    study_id=vote_study,
                    participant_id=study_task.participant_id,
                    created_at=when,
                    **(defaults | fields),
                )
            )

        vote(mine, study_id, choice="a", self_identified=True, position=-1)  # flagged
        vote(mine, study_id, choice="tie", position=-2)
        vote(mine, study_id, choice=None, position=-3)  # undecided: not a battle result
        vote(mine, study_id, choice="a", model_b=a, position=-4)  # a model against itself
        vote(mine, study_id, kind="upvote", model=a, model_a=None, model_b=None, position=0)
        # inconsistent copies of the study id: the study task decides
        vote(mine, other.id, choice="b", position=-5)  # exported, used to be left out of analysis
        vote(theirs, study_id, choice="b", position=-1)  # analysed, used to be exported too
        for line, (x, y, winner) in enumerate(
            [(a, b, "a"), (b, MODELS[3], "both_bad"), (a, a, "tie"), (a, b, "nonsense")], 1
        ):
            s.add(
                ImportedVote(
                    study_id=study_id,
                    source="arena.jsonl",
                    line=line,
                    model_a=x,
                    model_b=y,
                    winner=winner,
                    participant=f"user{line}",
                )
            )


def _read(directory: Path, table: str) -> list[dict[str, Any]]:
    path = directory / f"{table}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _latest_tested(runs: list[dict[str, Any]]) -> bool | None:
    tested = sorted(
        (r for r in runs if r["test_kind"] and r["verdict"] != "ran"),
        key=lambda r: (r["created_at"], r["id"]),
    )
    return tested[-1]["verdict"] == "passed" if tested else None


def _from_export(out: Path) -> dict[str, Any]:
    """The headline numbers, from the files alone."""
    participants = _read(out, "participants")
    tasks = _read(out, "tasks")
    generations = _read(out, "generations")
    executions = _read(out, "executions")
    ratings = _read(out, "ratings")
    votes = _read(out, "votes")
    imported = _read(out, "imported_votes")
    model_of = {g["id"]: g["model"] for g in generations}
    runs: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for execution in executions:
        runs[execution["generation_id"]].append(execution)
    answers: Counter[str] = Counter()
    executed: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for generation in generations:
        answers[generation["model"]] += 1
        verdict = _latest_tested(runs[generation["id"]])
        if verdict is not None:
            executed[generation["model"]] += 1
            passed[generation["model"]] += verdict
    scores: defaultdict[str, list[int]] = defaultdict(list)
    for rating in ratings:
        if rating["correctness"] in range(1, 6):
            scores[rating["model"]].append(rating["correctness"])
    battles: Counter[str] = Counter()
    pairs = [
        (v["model_a"], v["model_b"], v["choice"])
        for v in votes
        if v["kind"] == "battle" and not v["self_identified"]
    ]
    pairs += [(v["model_a"], v["model_b"], v["winner"]) for v in imported]
    for model_a, model_b, choice in pairs:
        if choice in WINNERS and model_a and model_b and model_a != model_b:
            battles[model_a] += 1
            battles[model_b] += 1
    return {
        "progress": {
            "participants_joined": len(participants),
            "participants_consented": sum(1 for p in participants if p["consented_at"]),
            "survey_completed": sum(1 for p in participants if p["survey_completed_at"]),
            "tasks": len(tasks),
            "generations": len(generations),
            "executions": len(executions),
            "ratings": len(ratings),
            "votes": sum(1 for v in votes if v["kind"] == "battle"),
            "upvotes": sum(1 for v in votes if v["kind"] == "upvote"),
            "self_identified_votes": sum(1 for v in votes if v["self_identified"]),
            "imported_votes": len(imported),
            "spend_usd": sum(g["cost_usd"] or 0.0 for g in generations),
        },
        "answers": dict(answers),
        "executed": dict(executed),
        "passed": dict(passed),
        "ratings": {m: (len(v), sum(v) / len(v)) for m, v in scores.items()},
        "battles": dict(battles),
        "executions_of_study": all(e["generation_id"] in model_of for e in executions),
        "generations_of_study": {g["task_id"] for g in generations}
        <= {t["task_id"] for t in tasks},
        "votes_of_study": {v["study_task_id"] for v in votes} <= {t["id"] for t in tasks},
        "ran": sum(1 for e in executions if e["verdict"] == "ran"),
        "statuses": Counter(g["status"] for g in generations),
    }


@pytest.fixture
def study(database_url: str) -> Iterator[tuple[Store, str]]:
    store = Store(database_url)
    study_id = make_realistic_study(store)
    _add_edge_rows(store, study_id)
    yield store, study_id
    store.dispose()


def test_report_numbers_recomputed_from_the_export_are_the_analysis(
    study: tuple[Store, str], tmp_path: Path
) -> None:
    store, study_id = study
    out = tmp_path / "export"
    export_study(store, study_id, out, "jsonl")
    mine = _from_export(out)
    analysis = analyse_study(store, study_id, rounds=ROUNDS).to_dict()

    progress = analysis["progress"]
    for key, value in mine["progress"].items():
        assert progress[key] == pytest.approx(value), key
    objective = analysis["objective"]
    assert {m: o["tasks"] for m, o in objective.items()} == mine["answers"]
    assert {m: o["executed"] for m, o in objective.items() if o["executed"]} == mine["executed"]
    assert {m: o["passed"] for m, o in objective.items() if o["executed"]} == mine["passed"]
    ratings = {
        m: (d["correctness"]["n"], d["correctness"]["mean"])
        for m, d in analysis["ratings"].items()
        if d["correctness"]["n"]
    }
    assert ratings.keys() == mine["ratings"].keys()
    for model, (n, mean) in mine["ratings"].items():
        assert ratings[model][0] == n and ratings[model][1] == pytest.approx(mean), model
    assert {row["model"]: row["battles"] for row in analysis["leaderboard"]} == mine["battles"]

    # the edge rows: each decided the same way on both sides
    assert mine["executions_of_study"] and mine["generations_of_study"] and mine["votes_of_study"]
    assert mine["statuses"]["pending"] == 1 and mine["statuses"]["error"] == 1
    assert mine["ran"] == 2
    assert mine["progress"]["imported_votes"] == 4
    assert mine["executed"][MODELS[0]] >= 1

    # the report prints the analysis's numbers
    report = build_report(store, study_id, tmp_path / "report", "md", rounds=ROUNDS)
    text = report.path.read_text(encoding="utf-8")
    assert f"| {mine['progress']['executions']} |" in text
    assert f"| {mine['progress']['generations']} |" in text
