"""The leaderboard: seeded bootstrap intervals, the rank rule, counts and the win-rate matrix."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from codearena.stats import (
    LeaderboardRow,
    Vote,
    bradley_terry,
    leaderboard,
    ranks_from_intervals,
    win_rate_matrix,
)

from .test_bradley_terry import simulate

STRENGTHS = [1.0, 0.5, 0.4, 0.0, -0.7]


def test_fields_order_and_dict() -> None:
    rows = leaderboard(simulate(STRENGTHS, n=2000, seed=1, tie_rate=0.1), rounds=200)
    names = [f.name for f in dataclasses.fields(LeaderboardRow)]
    assert names == [
        "model",
        "rating",
        "ci_low",
        "ci_high",
        "rank",
        "battles",
        "wins",
        "losses",
        "ties",
        "warnings",
        "ci_note",
        "group",
        "bootstrap",
    ]
    assert list(rows[0].to_dict()) == names
    assert rows[0].to_dict()["warnings"] == [] and rows[0].ci_note is None
    assert [r.rating for r in rows] == sorted((r.rating for r in rows), reverse=True)
    assert (rows[0].model, rows[-1].model) == ("m0", "m4")


def test_ratings_are_the_point_fit() -> None:
    votes = simulate(STRENGTHS, n=1500, seed=2, tie_rate=0.1)
    point = bradley_terry(votes)
    for row in leaderboard(votes, rounds=100):
        assert row.rating == pytest.approx(point[row.model], abs=1e-9)


def test_seeded_bootstrap_is_reproducible() -> None:
    votes = simulate(STRENGTHS, n=1500, seed=3, tie_rate=0.1)
    assert leaderboard(votes, rounds=300, seed=11) == leaderboard(votes, rounds=300, seed=11)
    other = leaderboard(votes, rounds=300, seed=12)
    assert [r.ci_low for r in other] != [r.ci_low for r in leaderboard(votes, rounds=300, seed=11)]


def test_intervals_contain_the_estimate() -> None:
    for row in leaderboard(simulate(STRENGTHS, n=3000, seed=4, tie_rate=0.1), rounds=500):
        assert row.ci_low < row.rating < row.ci_high


def test_more_votes_give_narrower_intervals() -> None:
    small = {r.model: r for r in leaderboard(simulate(STRENGTHS, 1000, seed=5), rounds=400)}
    large = {r.model: r for r in leaderboard(simulate(STRENGTHS, 16000, seed=6), rounds=400)}
    for model, row in large.items():
        narrow = row.ci_high - row.ci_low
        wide = small[model].ci_high - small[model].ci_low
        assert narrow < 0.5 * wide  # 16x the votes: about a quarter of the width


def test_bootstrap_matches_resampling_the_votes() -> None:
    """Multinomial cell counts are the same distribution as resampling the votes themselves."""
    votes = simulate([0.6, 0.0, -0.4], n=600, seed=8, tie_rate=0.15)
    rows = {r.model: r for r in leaderboard(votes, rounds=2000, seed=1)}
    rng = np.random.default_rng(99)
    naive = []
    for _ in range(300):
        picks = rng.integers(0, len(votes), size=len(votes))
        naive.append(bradley_terry([votes[i] for i in picks]))
    for model, row in rows.items():
        low, high = np.percentile([fit[model] for fit in naive], [2.5, 97.5])
        assert row.ci_high - row.ci_low == pytest.approx(high - low, rel=0.2)
        assert row.ci_low == pytest.approx(low, abs=0.25 * (high - low))


def test_rank_rule_on_a_constructed_case() -> None:
    # A clearly above everyone; B and C overlap; D overlaps C but not B; E below all.
    lows = [100.0, 50.0, 40.0, 30.0, 0.0]
    highs = [120.0, 70.0, 60.0, 45.0, 20.0]
    assert ranks_from_intervals(lows, highs) == [1, 2, 2, 3, 5]


def test_ranks_on_a_leaderboard_follow_the_rule() -> None:
    rows = leaderboard(simulate([2.0, 0.05, 0.0, -2.0], n=4000, seed=9), rounds=300)
    for row in rows:
        above = sum(1 for other in rows if other.ci_low > row.ci_high)
        assert row.rank == 1 + above
    assert [r.rank for r in rows] == [1, 2, 2, 4]


def test_counts() -> None:
    votes = [Vote("x", "y", "a")] * 3 + [Vote("y", "x", "a")] * 2 + [Vote("x", "y", "tie")]
    votes += [Vote("x", "z", "both_bad"), Vote("z", "y", "b", flagged=True)]
    rows = {r.model: r for r in leaderboard(votes, rounds=50)}
    assert (rows["x"].battles, rows["x"].wins, rows["x"].losses, rows["x"].ties) == (7, 3, 2, 2)
    assert (rows["y"].battles, rows["y"].wins, rows["y"].losses, rows["y"].ties) == (6, 2, 3, 1)
    assert (rows["z"].battles, rows["z"].ties) == (1, 1)
    dropped = {r.model: r for r in leaderboard(votes, rounds=50, both_bad="drop")}
    assert set(dropped) == {"x", "y"} and dropped["x"].ties == 1
    flagged = {r.model: r for r in leaderboard(votes, rounds=50, include_flagged=True)}
    assert flagged["y"].wins == 3 and flagged["z"].losses == 1


def test_flagged_votes_left_out_of_the_leaderboard() -> None:
    votes = [Vote("x", "y", "a"), Vote("y", "x", "a")] * 10
    votes += [Vote("x", "y", "a", flagged=True)] * 30
    fair = {r.model: r for r in leaderboard(votes, rounds=100)}
    assert fair["x"].rating == pytest.approx(fair["y"].rating, abs=1e-6)
    assert fair["x"].battles == 20
    assert leaderboard(votes, rounds=100, include_flagged=True)[0].model == "x"


def test_empty_and_invalid() -> None:
    assert leaderboard([]) == []
    with pytest.raises(ValueError, match="rounds"):
        leaderboard([Vote("x", "y", "a")], rounds=0)


def test_win_rate_matrix() -> None:
    votes = [Vote("x", "y", "a")] * 3 + [Vote("y", "x", "a")] + [Vote("x", "y", "tie")] * 2
    votes += [Vote("z", "x", "a")]
    models, matrix = win_rate_matrix(votes)
    assert models == ["x", "y", "z"]
    assert matrix[0, 1] == pytest.approx(4 / 6)
    assert matrix[1, 0] == pytest.approx(2 / 6)
    assert matrix[2, 0] == 1.0 and matrix[0, 2] == 0.0
    assert math.isnan(matrix[1, 2]) and math.isnan(matrix[0, 0])
    _, no_ties = win_rate_matrix(votes, tie_weight=0.0)
    assert no_ties[0, 1] == pytest.approx(3 / 6)
    ordered, reordered = win_rate_matrix(votes, order=["z", "x", "y", "w"])
    assert ordered == ["z", "x", "y", "w"]
    assert reordered[1, 2] == pytest.approx(4 / 6)
    assert np.isnan(reordered[3]).all()
    with pytest.raises(ValueError, match="missing models"):
        win_rate_matrix(votes, order=["x"])
