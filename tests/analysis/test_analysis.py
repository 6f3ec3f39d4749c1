"""The analysis numbers on the hand-checkable study of ``tests.analysis.data``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from codearena import stats
from codearena.analysis import StudyNotFound, analyse_study, find_study, study_votes, tag_task
from codearena.analysis.load import question_id
from codearena.store import Store
from codearena.store.models import Execution, Task
from codearena.store.platform_models import Rating
from tests.analysis.data import ALPHA, BETA, EVIL, at, make_study, pid

ROUNDS = 200


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'analysis.db'}")
    yield store
    store.dispose()


@pytest.fixture
def study_id(store: Store) -> str:
    return make_study(store)


def test_study_votes_map_choices_flags_and_groups(store: Store, study_id: str) -> None:
    pairs = study_votes(store, study_id)
    votes = [v for v, _ in pairs]
    p1, p2, p3 = (pid(study_id, n) for n in (1, 2, 3))
    assert stats.Vote(ALPHA, EVIL, "a", participant=p1) in votes
    assert stats.Vote(BETA, ALPHA, "b", flagged=True, participant=p2) in votes  # self-identified
    assert stats.Vote(BETA, EVIL, "both_bad", participant=p3) in votes  # stored as "both_bad"
    assert len(votes) == 6  # 3 battles (the upvote is not a battle) + 3 imported
    # an imported vote's rater is its participant, never the same as a platform id
    assert {v.participant for v in votes[3:]} == {"imported:ext-1"}
    groups = dict(
        zip([(v.model_a, v.model_b, v.winner) for v in votes], [g for _, g in pairs], strict=True)
    )
    assert groups[(ALPHA, EVIL, "a")] == {
        "language": "Java",
        "category": None,
        "participant": pid(study_id, 1),
        "experience": "2 - 5",
        "role": "Developer",
    }
    assert groups[(BETA, ALPHA, "b")]["experience"] == "6 - 10"
    imported = [g for v, g in pairs if v.model_a == BETA and v.winner == "tie"]
    assert imported == [
        {
            "language": "Python",
            "category": "parsing",
            "participant": "ext-1",
            "experience": None,
            "role": None,
        }
    ]
    assert len(study_votes(store, study_id, include_imported=False)) == 3


def test_leaderboard_matches_the_stats_package(store: Store, study_id: str) -> None:
    analysis = analyse_study(store, study_id, rounds=ROUNDS, seed=3)
    votes = [v for v, _ in study_votes(store, study_id)]
    expected = stats.leaderboard(votes, rounds=ROUNDS, seed=3, bootstrap="participants")
    assert analysis.leaderboard == expected
    assert analysis.options["bootstrap"] == "participants"
    by_votes = analyse_study(store, study_id, rounds=ROUNDS, seed=3, bootstrap="votes")
    assert by_votes.leaderboard == stats.leaderboard(votes, rounds=ROUNDS, seed=3)
    assert sum(r.battles for r in expected) == 2 * 5  # the self-identified vote is left out
    flagged = analyse_study(store, study_id, rounds=ROUNDS, seed=3, include_flagged=True)
    assert sum(r.battles for r in flagged.leaderboard) == 2 * 6
    models = analysis.win_matrix["models"]
    assert models == [r.model for r in expected]
    alpha, evil = models.index(ALPHA), models.index(EVIL)
    assert analysis.win_matrix["matrix"][alpha][evil] == 1.0
    assert analysis.win_matrix["matrix"][alpha][alpha] is None


def test_objective_figures_by_hand(store: Store, study_id: str) -> None:
    objective = analyse_study(store, study_id, rounds=ROUNDS).objective
    alpha, beta, evil = objective[ALPHA], objective[BETA], objective[EVIL]
    assert (alpha["passed"], alpha["executed"], alpha["tasks"]) == (2, 3, 3)
    # 3 runs are fewer than stats.MIN_INTERVAL_N: no Wilson interval, a note
    assert (alpha["pass_ci_low"], alpha["pass_ci_high"]) == (None, None)
    assert alpha["pass_ci_note"] == "n too small (n=3 < 5)"
    # beta's T1 answer passed, then failed: the latest run counts; T3 was never run
    assert (beta["passed"], beta["executed"], beta["tasks"]) == (1, 2, 3)
    assert (evil["passed"], evil["executed"]) == (1, 1)
    assert alpha["findings_per_100_lines"] == pytest.approx(3.0)  # (2 + 1) / 100 lines
    assert beta["findings_per_100_lines"] == pytest.approx(5.0)
    assert evil["findings_per_100_lines"] is None
    assert alpha["median_ttft_s"] == pytest.approx(0.4)  # 0.4, 0.5, 0.3
    assert alpha["cost_per_task_usd"] == pytest.approx(0.01)
    assert alpha["minutes_to_fix_per_task"] == pytest.approx(7.5)  # T1 rated 5 and 10
    assert beta["minutes_to_fix_per_task"] == pytest.approx(25.0)


def test_ratings_agreement_and_progress(store: Store, study_id: str) -> None:
    analysis = analyse_study(store, study_id, rounds=ROUNDS)
    correctness = analysis.ratings[ALPHA]["correctness"]
    assert correctness["n"] == 3 and correctness["mean"] == pytest.approx(13 / 3)
    assert correctness["counts"] == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}
    assert (correctness["ci_low"], correctness["ci_high"]) == (None, None)
    assert correctness["ci_note"] == "n too small (n=3 < 5)"
    minutes = analysis.ratings[ALPHA]["minutes_to_usable"]
    assert minutes["ci_low"] is None and minutes["ci_note"].startswith("n too small (n=")
    assert analysis.ratings[BETA]["minutes_to_usable"]["mean"] == pytest.approx(25.0)
    # P1 and P2 both rated T1's two answers: alpha 4/5 and beta 2/1
    expected = stats.krippendorff_alpha([[4, 2, 4, 3], [5, 1, None, None]], level="ordinal")
    assert analysis.agreement["correctness"] == pytest.approx(expected)
    assert analysis.agreement["correctness"] is not None
    progress = analysis.progress
    assert progress["participants_joined"] == 4 and progress["participants_consented"] == 3
    assert progress["tasks"] == 5 and progress["generations"] == 8 and progress["executions"] == 7
    assert progress["ratings"] == 6 and progress["votes"] == 3 and progress["upvotes"] == 1
    assert progress["imported_votes"] == 3 and progress["survey_completed"] == 1
    assert progress["spend_usd"] == pytest.approx(0.15)
    assert progress["budget_usd"] == 0.5 and progress["budget_total_usd"] == pytest.approx(2.0)
    assert analysis.first_activity is not None and analysis.first_activity.startswith("2025-03-01")
    json.dumps(analysis.to_dict(), allow_nan=False)  # every field is JSON


def test_agreement_is_none_without_two_raters_on_one_answer(store: Store, study_id: str) -> None:
    with store.session() as session:
        for rating in session.query(Rating).filter(Rating.participant_id == pid(study_id, 2)):
            session.delete(rating)
    agreement = analyse_study(store, study_id, rounds=ROUNDS).agreement
    assert agreement == {"correctness": None, "quality": None, "usefulness": None}


def test_breakdowns_group_by_language_category_and_survey(store: Store, study_id: str) -> None:
    breakdowns = analyse_study(store, study_id, rounds=ROUNDS).breakdowns
    assert list(breakdowns) == ["language", "category", "experience", "role"]
    assert list(breakdowns["language"]) == ["Java", "Python", "(none)"]
    java = breakdowns["language"]["Java"]
    assert java["objective"][ALPHA]["passed"] == 1 and java["objective"][ALPHA]["tasks"] == 1
    assert [r["model"] for r in java["leaderboard"]] == [ALPHA, EVIL]
    parsing = breakdowns["category"]["parsing"]
    # T1 (shared by two participants, counted once) and T3: alpha passed on T1, failed on T3
    assert (parsing["objective"][ALPHA]["passed"], parsing["objective"][ALPHA]["executed"]) == (
        1,
        2,
    )
    assert sum(r["battles"] for r in parsing["leaderboard"]) == 2 * 3  # the imported votes
    junior = breakdowns["experience"]["2 - 5"]
    assert junior["ratings"][ALPHA]["correctness"]["n"] == 2  # P1's own ratings only
    assert junior["objective"][ALPHA]["minutes_to_fix_per_task"] == pytest.approx(5.0)
    assert breakdowns["role"]["Senior Developer"]["ratings"][BETA]["correctness"]["mean"] == 1.0
    assert "(none)" in breakdowns["experience"]  # P3 answered nothing; imported votes


def test_human_vs_objective_rows(store: Store, study_id: str) -> None:
    rows = analyse_study(store, study_id, rounds=ROUNDS).human_vs_objective
    assert len(rows) == 3 * 2 * 2
    by_key = {(r["scope"], r["rating"], r["objective"]): r for r in rows}
    model_pass = by_key[("model", "correctness", "pass")]
    # per model: mean correctness alpha 13/3, beta 1.5, evil 3 against pass 2/3, 1/2, 1
    expected = stats.spearman_with_ci([13 / 3, 1.5, 3.0], [2 / 3, 0.5, 1.0], rounds=ROUNDS)
    assert model_pass["rho"] == pytest.approx(expected.rho) and model_pass["n"] == 3
    assert by_key[("generation", "correctness", "pass")]["n"] == 4


def test_question_ids_come_from_the_stored_instrument() -> None:
    survey = {
        "questions": [
            {"id": "role", "text": "Your ROLE in the team?"},
            {"id": "xp", "text": "how much experience do you have in software development"},
        ]
    }
    assert question_id(survey, "How much experience do you have in software development?") == "xp"
    assert question_id(survey, "What are your main role and function in company?", "role") == "role"
    assert question_id({"questions": []}, "anything") is None


def test_find_study_and_tag_task(store: Store, study_id: str) -> None:
    assert find_study(store, study_id).id == study_id
    assert find_study(store, "Analysis study").id == study_id
    make_study(store)
    with pytest.raises(StudyNotFound, match="2 studies"):
        find_study(store, "Analysis study")
    with pytest.raises(StudyNotFound):
        find_study(store, "nope")
    task_id = study_id[:8] + "t2"
    assert tag_task(store, task_id, "  sorting ") == "sorting"
    with store.session() as session:
        assert session.get(Task, task_id).category == "sorting"  # type: ignore[union-attr]
    assert tag_task(store, task_id, "") is None
    with pytest.raises(ValueError, match="64"):
        tag_task(store, task_id, "x" * 65)
    with pytest.raises(LookupError):
        tag_task(store, "missing", "x")


def test_runs_without_tests_stay_out_of_the_pass_rate(store: Store, study_id: str) -> None:
    """A run without tests (verdict ``ran`` at exit 0, or an untested crash) checked nothing: it
    is in neither the numerator nor the denominator (``executed``, the n), and a later untested
    run does not replace an answer's latest run against its tests."""
    g = {key: study_id[:8] + key for key in ("1a", "1b", "3a")}
    t1, t3 = study_id[:8] + "t1", study_id[:8] + "t3"

    def untested(gid: str, task: str, verdict: str) -> Execution:
        return Execution(
            generation_id=gid,
            task_id=task,
            language="python",
            test_kind=None,
            verdict=verdict,
            exit_code=0 if verdict == "ran" else 1,
            backend="unisolated",
            created_at=at(30),
        )

    with store.session() as session:
        session.add_all(
            [
                untested(g["3a"], t3, "ran"),  # beta's T3 answer, never run against tests
                untested(g["1b"], t1, "ran"),  # after beta's failed T1 run against tests
                untested(g["1a"], t1, "error"),  # after alpha's passed T1 run against tests
            ]
        )
    objective = analyse_study(store, study_id, rounds=ROUNDS).objective
    alpha, beta = objective[ALPHA], objective[BETA]
    assert (alpha["passed"], alpha["executed"], alpha["pass_rate"]) == (2, 3, pytest.approx(2 / 3))
    assert (beta["passed"], beta["executed"], beta["pass_rate"]) == (1, 2, 0.5)
    assert beta["pass_ci_note"] == "n too small (n=2 < 5)"
