"""Holm against statsmodels, Cliff's delta against a brute-force count, the vote comparison."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from codearena.stats.pairwise import cliffs_delta, compare_votes, holm

multitest = pytest.importorskip("statsmodels.stats.multitest")


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = list(rng.uniform(0, 0.2, size=int(rng.integers(1, 12))))
    p[0] = p[-1]  # a tie
    expected = multitest.multipletests(p, method="holm")[1]
    assert holm(p) == pytest.approx(list(expected), abs=1e-12)


def test_holm_keeps_nones_out_of_the_family() -> None:
    adjusted = holm([0.01, None, 0.04])
    expected = multitest.multipletests([0.01, 0.04], method="holm")[1]
    assert adjusted[1] is None
    assert [adjusted[0], adjusted[2]] == pytest.approx(list(expected))
    assert holm([]) == []


def brute_delta(x: list[float], y: list[float]) -> float:
    greater = sum(1 for a in x for b in y if a > b)
    less = sum(1 for a in x for b in y if a < b)
    return (greater - less) / (len(x) * len(y))


@pytest.mark.parametrize("seed", range(6))
def test_cliffs_delta_matches_a_brute_force_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = [float(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 30)))]
    y = [float(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 30)))]
    assert cliffs_delta(x, y) == pytest.approx(brute_delta(x, y), abs=1e-12)


def test_cliffs_delta_extremes() -> None:
    assert cliffs_delta([5, 5], [1, 2]) == 1.0
    assert cliffs_delta([1], [3, 4]) == -1.0
    assert cliffs_delta([3, 3], [3]) == 0.0
    assert cliffs_delta([], [1]) is None


def test_compare_votes() -> None:
    result = compare_votes("a", "b", 7, 2, 3)
    assert result.n == 12
    assert result.win_probability == pytest.approx((7 + 1.5) / 12)
    assert result.p == pytest.approx(binomtest(7, 9, 0.5).pvalue)
    ties = compare_votes("a", "b", 0, 0, 2)
    assert ties.win_probability == 0.5 and ties.p is None
