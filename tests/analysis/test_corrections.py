"""Conversations and correction cost (``analysis.corrections``): passed unchanged, the pass rate
by repair round, fixes by hand with their interval, turns, and time-to-fix correlations, on a
hand-checkable study."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from codearena.analysis import load_study
from codearena.analysis.corrections import correction_cost
from codearena.store import Store
from codearena.store.models import Execution, Generation, Task
from codearena.store.platform_models import Fix, Participant, Rating, Study, StudyTask
from codearena.studies.fixes import fix_summary

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
CODE = [{"language": "python", "source": "pass\n", "variant": None, "complete": True}]
MODEL = "m/a"

# per task: (language, verdicts of the first answer and each repair round; None = never run)
CHAINS: list[tuple[str, list[str | None]]] = [
    ("Python", ["passed"]),
    ("Python", ["failed", "passed"]),
    ("Java", ["failed", "failed", "passed"]),
    ("Java", ["failed"]),
    ("Python", ["passed"]),
    ("Python", [None]),
]


def _study(store: Store, fixes: list[tuple[int, float, int, int]]) -> str:
    """``CHAINS`` as one participant's tasks answered by ``MODEL``; ``fixes``: (task index,
    active seconds, estimated minutes, correctness) of a done fix and the same participant's
    rating of that first answer."""
    with store.session() as s:
        study = Study(name="Repairs", models=[MODEL], mode="named", survey_name="none")
        s.add(study)
        s.flush()
        person = Participant(study_id=study.id, pseudonym="p", created_at=T0, consented_at=T0)
        s.add(person)
        s.flush()
        firsts = []
        for number, (language, verdicts) in enumerate(CHAINS):
            when = T0 + timedelta(hours=number)
            task = Task(prompt=f"t{number}", output_language=language, created_at=when)
            s.add(task)
            s.flush()
            study_task = StudyTask(
                task_id=task.id,
                study_id=study.id,
                participant_id=person.id,
                mode="named",
                models=[MODEL],
                prompt=task.prompt,
                status="done",
                created_at=when,
            )
            s.add(study_task)
            parent: Generation | None = None
            for turn, verdict in enumerate(verdicts, start=1):
                generation = Generation(
                    task_id=task.id,
                    position=0,
                    model=MODEL,
                    label="Model A",
                    provider="openrouter",
                    status="ok",
                    code=CODE,
                    turn=turn,
                    kind="answer" if turn == 1 else "repair",
                    parent_id=parent.id if parent else None,
                    created_at=when + timedelta(minutes=turn),
                )
                s.add(generation)
                s.flush()
                if verdict is not None:
                    s.add(
                        Execution(
                            generation_id=generation.id,
                            task_id=task.id,
                            language="python",
                            test_kind="python",
                            verdict=verdict,
                            backend="bwrap",
                        )
                    )
                if turn == 1:
                    firsts.append((study_task, generation))
                parent = generation
        s.flush()
        for index, active, minutes, correctness in fixes:
            study_task, generation = firsts[index]
            s.add(
                Fix(
                    generation_id=generation.id,
                    participant=person.id,
                    study_task_id=study_task.id,
                    started_at=T0,
                    ended_at=T0 + timedelta(seconds=active),
                    active_seconds=active,
                    runs=1,
                    verdict="passed",
                    outcome="done",
                    lines_added=3,
                    lines_removed=1,
                )
            )
            s.add(
                Rating(
                    study_task_id=study_task.id,
                    position=0,
                    generation_id=generation.id,
                    participant_id=person.id,
                    model=MODEL,
                    correctness=correctness,
                    minutes_to_usable=minutes,
                )
            )
        return study.id


def test_passed_unchanged_and_by_repair_round(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    study_id = _study(store, [(3, 120.0, 5, 2)])
    result = correction_cost(load_study(store, study_id), fix_summary(store, study_id), rounds=50)
    (row,) = result["models"]
    assert row["model"] == MODEL and row["label"] == "Model A"
    assert row["answers"] == 6 and row["tested"] == 5 and row["passed_first"] == 2
    assert row["passed_first_share"] == pytest.approx(0.4)
    assert result["max_round"] == 2
    assert [(r["round"], r["passed"], r["n"]) for r in row["by_round"]] == [
        (0, 2, 5),
        (1, 3, 5),
        (2, 4, 5),
    ]
    assert row["conversations"] == 6 and row["max_turns"] == 3
    assert row["mean_turns"] == pytest.approx(9 / 6)
    # fix_summary's figures, reused: 9 answers with code (every turn), one fixed
    assert row["answers_with_code"] == 9 and row["fixed"] == 1
    assert row["fixed_share"] == pytest.approx(1 / 9)
    assert row["median_active_s"] == pytest.approx(120.0)
    assert row["median_lines_changed"] == pytest.approx(4.0)
    assert row["active_ci_low"] is None and row["active_ci_note"] == "n too small (n=1 < 5)"
    by_language = result["by_group"]["language"]
    assert [(c["tested"], c["passed_first"]) for c in by_language["Java"]] == [(2, 0)]
    assert [(c["tested"], c["passed_first"]) for c in by_language["Python"]] == [(3, 2)]
    # task 3 (Java) was fixed by hand: 1 of Java's 4 answers with code (2 first, 2 repairs)
    (java,) = by_language["Java"]
    assert (java["fixed"], java["answers_with_code"]) == (1, 4)
    (python,) = by_language["Python"]
    assert (python["fixed"], python["answers_with_code"], python["fixed_share"]) == (0, 5, 0.0)
    minutes = next(c for c in result["correlations"] if c["with"] == "minutes_to_usable")
    assert minutes["n"] == 1 and minutes["rho"] is None
    assert minutes["ci_note"] == "n too small (n=1 < 5)"


def test_time_to_fix_correlations_match_scipy(tmp_path: Path) -> None:
    fixes = [
        (0, 60.0, 2, 5),
        (1, 300.0, 10, 3),
        (2, 900.0, 12, 2),
        (3, 200.0, 3, 4),
        (4, 1200.0, 25, 1),
        (5, 400.0, 4, 3),
    ]
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    study_id = _study(store, fixes)
    result = correction_cost(load_study(store, study_id), fix_summary(store, study_id), rounds=200)
    by_name = {c["with"]: c for c in result["correlations"]}
    minutes = [f[1] / 60 for f in fixes]
    for name, column in (("minutes_to_usable", 2), ("correctness", 3)):
        expected = scipy_stats.spearmanr(minutes, [f[column] for f in fixes]).statistic
        got = by_name[name]
        assert got["n"] == 6 and got["rho"] == pytest.approx(expected)
        assert got["ci_low"] is not None and got["ci_low"] <= got["rho"] <= got["ci_high"]
    assert by_name["quality"]["n"] == 0 and by_name["quality"]["rho"] is None
    (row,) = result["models"]
    assert row["fixed"] == 6 and row["median_active_s"] == pytest.approx(350.0)
    low, high = row["active_ci_low"], row["active_ci_high"]
    assert low is not None and high is not None and 60.0 <= low <= 350.0 <= high <= 1200.0
