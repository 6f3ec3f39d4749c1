"""The participant (cluster) bootstrap of the leaderboard, against the vote bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats as sps  # type: ignore[import-untyped]

from codearena.stats import LeaderboardRow, Vote, leaderboard
from codearena.stats.bradley_terry import aggregate_cells, fit_log_strengths, to_rating
from codearena.stats.resampling import cluster_codes, patterns, resample_cells

STRENGTHS = [0.6, 0.2, 0.0, -0.4]


def _simulate(rng: np.random.Generator, n: int, who: str | None) -> list[Vote]:
    votes = []
    k = len(STRENGTHS)
    for v in range(n):
        i, j = rng.choice(k, size=2, replace=False)
        p = 1.0 / (1.0 + math.exp(STRENGTHS[j] - STRENGTHS[i]))
        r = rng.random()
        winner = "tie" if r < 0.1 else ("a" if r < 0.1 + 0.9 * p else "b")
        label = who if who is not None else f"p{v}"
        votes.append(Vote(f"m{i}", f"m{j}", winner, participant=label))  # type: ignore[arg-type]
    return votes


def _widths(rows: list[LeaderboardRow]) -> dict[str, float]:
    out = {}
    for row in rows:
        assert row.ci_low is not None and row.ci_high is not None
        out[row.model] = row.ci_high - row.ci_low
    return out


def test_patterns_merge_participants_with_the_same_votes() -> None:
    cells = np.array([0, 0, 1, 0, 0, 1, 2, 2, 2])
    clusters = cluster_codes(["x", "x", "x", "y", "y", "y", None, None, "z"])
    table, multiplicity = patterns(cells, clusters, 3)
    got = sorted(zip(map(tuple, table.tolist()), multiplicity.tolist(), strict=True))
    # x and y cast the same votes (two in cell 0, one in cell 1); the None votes and z each
    # cast one vote in cell 2
    assert got == [((0, 0, 1), 3), ((2, 1, 0), 2)]
    assert (multiplicity @ table).tolist() == np.bincount(cells, minlength=3).tolist()
    assert cluster_codes([None, None]).tolist() == [0, 1]


def test_vote_bootstrap_is_the_draw_it_always_was() -> None:
    counts = np.array([5, 3, 9, 1])
    ours = resample_cells(
        counts, np.repeat(np.arange(4), counts), None, 50, np.random.default_rng(4)
    )
    theirs = np.random.default_rng(4).multinomial(18, counts / 18, size=50)
    assert np.array_equal(ours, theirs)
    with pytest.raises(ValueError, match="one cluster label per vote"):
        resample_cells(counts, np.arange(3), ["a"], 5, np.random.default_rng(0))


def test_a_participant_with_many_identical_votes_widens_the_intervals() -> None:
    rng = np.random.default_rng(11)
    votes = []
    for p in range(40):
        votes += _simulate(rng, 6, f"p{p}")
    # one participant says m3 beats m0, 150 times
    votes += [Vote("m3", "m0", "a", participant="zealot") for _ in range(150)]
    by_votes = _widths(leaderboard(votes, rounds=1500, seed=1, bootstrap="votes"))
    by_people = leaderboard(votes, rounds=1500, seed=1, bootstrap="participants")
    assert {r.bootstrap for r in by_people} == {"participants"}
    wider = _widths(by_people)
    for model in ("m0", "m3"):
        assert wider[model] > 1.5 * by_votes[model], (model, wider, by_votes)
    # the point estimates do not depend on the bootstrap
    assert {r.model: r.rating for r in by_people} == {
        r.model: r.rating for r in leaderboard(votes, rounds=10, bootstrap="votes")
    }


def _replicates(
    votes: list[Vote], clusters: list[str | None] | None, seed: int
) -> NDArray[np.float64]:
    counts, cells = aggregate_cells(votes)
    drawn = resample_cells(counts.counts, cells, clusters, 3000, np.random.default_rng(seed))
    theta = fit_log_strengths(counts.win_matrices(drawn, 0.5))
    return np.asarray(to_rating(theta))


def test_one_vote_per_participant_agrees_with_the_vote_bootstrap() -> None:
    votes = _simulate(np.random.default_rng(5), 600, None)
    by_votes = _replicates(votes, None, seed=2)
    by_people = _replicates(votes, [v.participant for v in votes], seed=3)
    for m in range(len(STRENGTHS)):
        # the same distribution of replicates (two independent samples of it)
        assert sps.ks_2samp(by_votes[:, m], by_people[:, m]).pvalue > 0.001
        low_v, high_v = np.percentile(by_votes[:, m], [2.5, 97.5])
        low_p, high_p = np.percentile(by_people[:, m], [2.5, 97.5])
        assert high_p - low_p == pytest.approx(high_v - low_v, rel=0.1)
    # and the leaderboard says the same with either
    a = _widths(leaderboard(votes, rounds=3000, seed=0, bootstrap="votes"))
    b = _widths(leaderboard(votes, rounds=3000, seed=0, bootstrap="participants"))
    for model, width in a.items():
        assert b[model] == pytest.approx(width, rel=0.1)


def test_votes_without_a_participant_are_their_own() -> None:
    votes = _simulate(np.random.default_rng(6), 300, None)
    anonymous = [Vote(v.model_a, v.model_b, v.winner) for v in votes]
    labelled = leaderboard(votes, rounds=400, seed=9, bootstrap="participants")
    unlabelled = leaderboard(anonymous, rounds=400, seed=9, bootstrap="participants")
    # None labels are codes in vote order like distinct labels, so the draws are identical
    assert [r.ci_low for r in labelled] == [r.ci_low for r in unlabelled]


def test_unknown_bootstrap_is_refused() -> None:
    with pytest.raises(ValueError, match="bootstrap must be one of votes, participants"):
        leaderboard([Vote("a", "b", "a")], bootstrap="people")  # type: ignore[arg-type]
