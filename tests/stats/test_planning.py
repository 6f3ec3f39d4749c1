"""``plan_votes``: votes needed for a leaderboard interval width, by simulation."""

from __future__ import annotations

import pytest

from codearena.stats.planning import default_replicates, plan_votes, simulated_width


def test_a_narrower_target_needs_more_votes() -> None:
    wide, middle, narrow = (plan_votes(6, width) for width in (120.0, 80.0, 40.0))
    assert wide.votes_needed < middle.votes_needed < narrow.votes_needed
    # width ~ 1 / sqrt(votes): halving the width takes about four times the votes
    assert narrow.votes_needed / middle.votes_needed == pytest.approx(4.0, rel=0.25)
    assert plan_votes(10, 80.0).votes_needed > middle.votes_needed  # more models, more votes


def test_the_count_reaches_the_width_in_a_fresh_simulation() -> None:
    plan = plan_votes(6, 60.0, seed=0)
    fresh = simulated_width(6, plan.votes_needed, seed=12345, replicates=default_replicates(6))
    assert fresh <= 60.0 * 1.05
    # and a quarter of the votes does not
    short = simulated_width(6, plan.votes_needed // 4, seed=54321)
    assert short > 60.0 * 1.5


def test_plan_is_seeded_and_says_what_it_assumed() -> None:
    plan = plan_votes(4, 100.0, seed=3, tie_share=0.2, rating_sd=150.0)
    assert plan == plan_votes(4, 100.0, seed=3, tie_share=0.2, rating_sd=150.0)
    out = plan.to_dict()
    assert set(out) == {"models", "target_ci_width", "votes_needed", "simulated", "assumptions"}
    assert out["assumptions"]["pairing"] == "uniform"
    assert out["assumptions"]["tie_share"] == 0.2 and out["assumptions"]["rating_sd"] == 150.0
    assert out["assumptions"]["bootstrap"] == "votes"
    assert any(p["votes"] == plan.votes_needed for p in out["simulated"])
    reached = {p["votes"]: p["median_ci_width"] for p in out["simulated"]}
    assert reached[plan.votes_needed] <= 100.0
    votes = [p["votes"] for p in out["simulated"]]
    assert votes == sorted(votes)


@pytest.mark.parametrize(
    ("models", "width", "message"),
    [(1, 50.0, "models must be between"), (51, 50.0, "models must be"), (4, 0.0, "positive")],
)
def test_bad_input_is_refused(models: int, width: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_votes(models, width)


def test_project_votes_from_a_running_study() -> None:
    from codearena.stats.planning import PROJECTION_MIN_VOTES, project_votes

    got = project_votes([200.0, 180.0, 220.0, float("inf")], 40)
    assert got["median_width"] == 200.0 and got["note"] is None
    assert [t["votes_needed"] for t in got["targets"]] == [160, 640]  # 40 * (200/100)^2, (200/50)^2
    already = project_votes([40.0, 60.0], 500)
    assert already["median_width"] == 50.0
    assert [t["votes_needed"] for t in already["targets"]] == [500, 500]  # already narrower
    few = project_votes([200.0, 180.0], PROJECTION_MIN_VOTES - 1)
    assert few["median_width"] is None and few["note"] and few["targets"][0]["votes_needed"] is None
    assert project_votes([100.0], 50)["note"]  # one finite interval is not enough
