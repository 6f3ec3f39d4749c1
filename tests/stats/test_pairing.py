"""Uniform and adaptive pairing of blind battles: a simulation shows adaptive pairing gives
narrower intervals for the same number of votes, and every pair stays possible."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pytest

from codearena.stats.bradley_terry import Vote
from codearena.stats.leaderboard import leaderboard
from codearena.stats.pairing import choose_pair, pair_scores

THETA = (-2.0, -1.0, 0.0, 0.3, 0.6, 2.0)  # true log-strengths: close ones and far ones
MODELS = [f"m{i}" for i in range(len(THETA))]


def _simulate(pairing: str, seed: int, votes_wanted: int = 300) -> list[float]:
    """The interval widths (rating points) after ``votes_wanted`` simulated votes."""
    rng = np.random.default_rng(seed)
    true = dict(zip(MODELS, THETA, strict=True))
    votes: list[Vote] = []
    for _ in range(votes_wanted):
        a, b = choose_pair(MODELS, votes, rng, pairing)  # type: ignore[arg-type]
        p = 1.0 / (1.0 + np.exp(-(true[a] - true[b])))
        votes.append(Vote(a, b, "a" if rng.random() < p else "b"))
    rows = leaderboard(votes, rounds=200, seed=seed)
    widths = [r.ci_high - r.ci_low for r in rows if r.ci_low is not None and r.ci_high is not None]
    assert len(widths) == len(MODELS), "an interval is unbounded: a group lost every battle"
    return widths


def test_adaptive_pairing_gives_narrower_intervals_for_the_same_votes() -> None:
    seeds = range(8)
    uniform = [_simulate("uniform", s) for s in seeds]
    adaptive = [_simulate("adaptive", s) for s in seeds]
    # the widest interval, and the mean width, averaged over the simulated studies
    assert np.mean([max(w) for w in adaptive]) < 0.92 * np.mean([max(w) for w in uniform])
    assert np.mean([np.mean(w) for w in adaptive]) < 0.96 * np.mean([np.mean(w) for w in uniform])
    # paired by seed, adaptive is narrower in most studies, not only on average
    better = sum(max(a) < max(u) for a, u in zip(adaptive, uniform, strict=True))
    assert better >= 6


def test_uniform_pairing_balances_the_pairs() -> None:
    rng = np.random.default_rng(0)
    votes: list[Vote] = []
    for _ in range(15 * 4):
        a, b = choose_pair(MODELS, votes, rng, "uniform")
        votes.append(Vote(a, b, "tie"))
    per_pair = Counter(tuple(sorted((v.model_a, v.model_b))) for v in votes)
    assert sorted(per_pair.values()) == [4] * 15  # every one of the 15 pairs, 4 times
    sides = Counter(v.model_a for v in votes)
    assert set(sides) == set(MODELS)  # sides are random, not fixed by the pair's order


def test_adaptive_pairing_keeps_every_pair_possible() -> None:
    rng = np.random.default_rng(1)
    votes = [Vote("m0", "m1", "a")] * 50 + [Vote("m2", "m3", "b")] * 50
    seen = Counter(tuple(sorted(choose_pair(MODELS, votes, rng, "adaptive"))) for _ in range(3000))
    assert set(seen) == set(combinations(MODELS, 2))
    # and it does prefer what the votes lack: m0-m1 has 50 battles already
    assert seen[("m0", "m1")] < seen.most_common(1)[0][1] / 3


def test_adaptive_scores_prefer_unconnected_and_close_pairs() -> None:
    votes = [Vote("m0", "m1", "a"), Vote("m1", "m0", "a")] * 20
    scores = pair_scores(["m0", "m1", "m2"], votes)
    # m2 has no battle at all: any pair with it beats another m0-m1 vote
    assert scores[("m0", "m2")] > scores[("m0", "m1")]
    assert scores[("m1", "m2")] > scores[("m0", "m1")]


def test_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least two"):
        choose_pair(["m0"], [], rng)
    with pytest.raises(ValueError, match="pairing must be"):
        choose_pair(MODELS, [], rng, "greedy")  # type: ignore[arg-type]
