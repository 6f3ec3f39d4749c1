"""Spearman with bootstrap intervals against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from codearena.stats import spearman_with_ci


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, size=40).astype(float)  # ratings: many ties
    y = x + rng.normal(0, 1.5, size=40)
    result = spearman_with_ci(list(x), list(y), rounds=500)
    reference = stats.spearmanr(x, y)
    assert result.rho == pytest.approx(reference.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.n == 40
    assert result.ci_low is not None and result.ci_high is not None
    assert result.rho is not None and result.ci_low < result.rho < result.ci_high


def test_seeded_and_missing_pairs_dropped() -> None:
    x = [1.0, 2.0, None, 4.0, 5.0, 6.0, float("nan"), 8.0]
    y = [2.0, 1.0, 3.0, 5.0, 4.0, 7.0, 6.0, 9.0]
    first = spearman_with_ci(x, y, seed=4)
    assert first == spearman_with_ci(x, y, seed=4)
    assert first.n == 6
    kept_x, kept_y = [1, 2, 4, 5, 6, 8], [2, 1, 5, 4, 7, 9]
    assert first.rho == pytest.approx(stats.spearmanr(kept_x, kept_y).statistic)


def test_interval_narrows_with_more_pairs() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=1000)
    y = 0.5 * x + rng.normal(size=1000)
    small = spearman_with_ci(list(x[:50]), list(y[:50]))
    large = spearman_with_ci(list(x), list(y))
    assert small.ci_low is not None and small.ci_high is not None
    assert large.ci_low is not None and large.ci_high is not None
    assert large.ci_high - large.ci_low < 0.5 * (small.ci_high - small.ci_low)


def test_degenerate_inputs() -> None:
    assert spearman_with_ci([1.0], [2.0]).rho is None
    constant = spearman_with_ci([3.0, 3.0, 3.0], [1.0, 2.0, 3.0])
    assert constant.rho is None and constant.n == 3
    two = spearman_with_ci([1.0, 2.0], [5.0, 9.0])
    assert two.rho == 1.0 and two.p_value is None
    perfect = spearman_with_ci([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 5.0, 7.0])
    assert perfect.p_value == 0.0 and not math.isnan(perfect.rho or math.nan)
    with pytest.raises(ValueError, match="paired"):
        spearman_with_ci([1.0], [1.0, 2.0])


def test_too_few_pairs_give_rho_without_an_interval() -> None:
    four = spearman_with_ci([1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0])
    assert four.rho == pytest.approx(stats.spearmanr([1, 2, 3, 4], [2, 1, 4, 3]).statistic)
    assert (four.ci_low, four.ci_high, four.ci_note) == (None, None, "n too small (n=4 < 5)")
    assert four.to_dict()["ci_note"] == "n too small (n=4 < 5)"
    five = spearman_with_ci([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0])
    assert five.ci_note is None and five.ci_low is not None and five.ci_high is not None
    assert -1.0 <= five.ci_low <= five.ci_high <= 1.0
    assert spearman_with_ci([1.0], [2.0]).ci_note == "n too small (n=1 < 5)"
