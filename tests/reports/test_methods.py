"""The methods paragraph states only what the rows show: every count and date checked against the
store, nothing said of runs, tasks or participants a study does not have."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from codearena import __version__
from codearena.analysis import import_votes
from codearena.analysis.ratings_import import import_ratings
from codearena.reports import build_report
from codearena.stats import MIN_INTERVAL_N
from codearena.store import Store
from codearena.store.models import Execution, Generation
from codearena.store.platform_models import (
    Fix,
    Participant,
    Rating,
    Study,
    StudyTask,
    SurveyAnswer,
    Vote,
)
from codearena.store.research_models import ImportedRating, ImportedVote
from codearena.survey.instruments import STUDY_2025
from tests.analysis.data import make_study
from tests.reports.realistic import make_realistic_study

IMPORTED_ON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def _methods_md(store: Store, study_id: str, out: Path) -> str:
    text = build_report(store, study_id, out, "md", rounds=30).path.read_text()
    return text.split("## Methods", 1)[1].strip()


def _imported_only_study(store: Store) -> str:
    """A study with nothing from the platform: votes, ratings and three survey respondents, all
    imported."""
    with store.session() as s:
        study = Study(
            name="Imported survey",
            models=["x/one", "x/two"],
            mode="blind",
            survey_name=STUDY_2025.name,
            survey=STUDY_2025.to_dict(),
        )
        s.add(study)
        s.flush()
        for n in range(3):
            person = Participant(
                study_id=study.id, pseudonym=f"r{n}", source="import", created_at=IMPORTED_ON
            )
            s.add(person)
            s.flush()
            s.add(
                SurveyAnswer(
                    study_id=study.id,
                    participant_id=person.id,
                    question_id="q1",
                    value=STUDY_2025.questions[0].options[0],
                    updated_at=IMPORTED_ON,
                )
            )
        study_id = study.id
    votes = "model_a,model_b,winner\nx/one,x/two,a\nx/one,x/two,b\nx/two,x/one,tie\nx/one,x/two,a\n"
    import_votes(store, study_id, votes, "arena.csv")
    ratings = "participant,task,model,dimension,score\nr1,t1,x/one,correctness,4\nr2,t1,x/two,correctness,2\n"
    import_ratings(store, study_id, ratings, "scores.csv")
    return study_id


def test_an_imported_study_claims_no_platform_tasks_and_no_sandbox_run(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'imported.db'}")
    study_id = _imported_only_study(store)
    with store.session() as s:
        vote_day = s.scalars(select(ImportedVote.imported_at)).first()
        rating_day = s.scalars(select(ImportedRating.imported_at)).first()
    assert vote_day is not None and rating_day is not None
    methods = _methods_md(store, study_id, tmp_path / "r")
    assert "No participant used the platform and no task was sent to a model." in methods
    assert "No answer was run." in methods
    for claim in ("sandbox", "bubblewrap", "ruff", "bandit", "consented", "tasks were sent"):
        assert claim not in methods, claim
    assert (
        f'4 pairwise votes collected elsewhere were imported from "arena.csv" on '
        f"{vote_day.date().isoformat()}; the import stores no collection date" in methods
    )
    assert (
        f'2 ratings collected elsewhere were imported from "scores.csv" on {rating_day.date()}'
        in methods
    )
    assert (
        "3 survey respondents were imported from a form export on 2025-06-02 (the import date"
        in methods
    )
    assert "Data were collected" not in methods  # no collection date is invented
    assert "Pairwise votes (0 platform battles and 4 imported votes)" in methods
    assert "The survey had 3 respondents; imported answers matching no option" in methods
    # the dashboard's activity bounds ignore the import dates too
    from codearena.analysis import analyse_study

    analysis = analyse_study(store, study_id, rounds=20)
    assert analysis.first_activity is None and analysis.last_activity is None


def _count(store: Store, statement: object) -> int:
    with store.session() as s:
        return int(s.scalar(statement) or 0)  # type: ignore[call-overload]


def test_a_platform_study_names_its_backend_and_every_count(tmp_path: Path) -> None:
    """Every number in the paragraph is one of the study's counts (queried here straight from
    the store), a date of its rows, or one of the stated constants."""
    store = Store(f"sqlite:///{tmp_path / 'platform.db'}")
    study_id = make_study(store)
    methods = _methods_md(store, study_id, tmp_path / "r")
    with store.session() as s:
        task_ids = select(StudyTask.task_id).where(StudyTask.study_id == study_id)
        gens = select(Generation.id).where(Generation.task_id.in_(task_ids))
        runs = s.scalars(select(Execution).where(Execution.generation_id.in_(gens))).all()
        people = s.scalars(select(Participant).where(Participant.study_id == study_id)).all()
        study_tasks = s.scalars(select(StudyTask).where(StudyTask.study_id == study_id)).all()
        ratings = s.scalars(
            select(Rating).where(Rating.study_task_id.in_([t.id for t in study_tasks]))
        ).all()
        votes = s.scalars(select(Vote).where(Vote.study_id == study_id)).all()
    backends = {r.backend for r in runs}
    assert backends == {"unisolated"}
    ran = {r.generation_id for r in runs}
    tested = {r.generation_id for r in runs if r.test_kind and r.verdict != "ran"}
    assert (
        f"{len(ran)} answers were run in the sandbox (the unisolated backend, with no isolation: "
        f"{len(runs)} runs), {len(tested)} of them against the task's tests" in methods
    )
    generations = _count(store, select(func.count()).select_from(gens.subquery()))
    assert f"were called {generations} times through their APIs" in methods
    assert (
        f"{len(people)} participants joined, {sum(1 for p in people if p.consented_at)} consented"
        in methods
    )
    assert f"{len(study_tasks)} tasks were sent to the models" in methods
    assert (
        f"{len(ratings)} ratings by {len({r.participant_id for r in ratings})} participants"
        in methods
    )
    assert "m/alpha" in methods and "m/beta" in methods
    flagged = sum(1 for v in votes if v.kind == "battle" and v.self_identified)
    assert f"the {flagged} vote on answers that named their own model was left out" in methods
    assert (
        "ridge penalty of 1e-06" in methods and "seeded bootstrap of 30 rounds (seed 0)" in methods
    )
    assert "No temperature was set" in methods
    # every number: a count above, a date, the version, or a stated constant
    dates = set(re.findall(r"\d{4}-\d{2}-\d{2}", methods))
    assert dates == {"2025-03-01"}
    rest = re.sub(r"\d{4}-\d{2}-\d{2}", "", methods.replace(__version__, "")).replace("1e-06", "")
    allowed = {
        len(people),
        sum(1 for p in people if p.consented_at),
        len(study_tasks),
        len({t.task_id for t in study_tasks}),
        generations,
        len(ran),
        len(runs),
        len(tested),
        len(ratings),
        len({r.participant_id for r in ratings}),
        flagged,
        sum(1 for v in votes if v.kind == "battle" and v.choice == "both_bad"),
        sum(1 for v in votes if v.kind == "battle"),
        3,  # imported votes
        2,  # survey respondents
        8,  # first answers (every generation is one)
        30,
        0,  # rounds, seed
        95,
        1,
        5,  # 95% intervals, the 1-5 scale
        MIN_INTERVAL_N,
    }
    numbers = {int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.]\d)", rest)}
    assert numbers <= allowed, numbers - allowed


def test_a_study_with_repairs_and_fixes_says_so(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'realistic.db'}")
    study_id = make_realistic_study(store, tasks=30)
    methods = _methods_md(store, study_id, tmp_path / "r")
    with store.session() as s:
        runs = s.scalars(select(Execution)).all()
        repairs = s.scalar(
            select(func.count()).select_from(Generation).where(Generation.kind == "repair")
        )
        fixes = s.scalars(select(Fix)).all()
    answer_runs = [r for r in runs if r.source != "fix"]
    assert f"(bubblewrap: {len(answer_runs)} runs)" in methods
    assert f"{repairs} repair rounds" in methods
    assert (
        f"Participants fixed answers by hand in {len(fixes)} attempts "
        f"({sum(f.runs for f in fixes)} runs of their edited code, left out of every pass rate"
        in methods
    )
    assert "Data were collected on the codearena platform" in methods
    # tasks an hour apart from 2025-02-03 09:00, survey answers three days later
    assert "between 2025-02-03 and 2025-02-06" in methods
