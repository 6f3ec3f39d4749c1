"""Rating summaries per model and dimension: the bounded interval, the minimum n, the table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codearena.stats import (
    MIN_INTERVAL_N,
    Rating,
    bounded_mean_interval,
    rating_summary,
    rating_table,
    wilson_interval,
)

Z = 1.959963984540054


def _by_hand(scores: list[int]) -> tuple[float, float]:
    """The documented method, step by step: rescale to [0, 1], Pearson's dispersion over the
    scores plus a pseudo-score at each end (capped at 1), Wilson's interval with n / phi."""
    y = [(s - 1) / 4 for s in scores]
    padded = [*y, 0.0, 1.0]
    share = sum(padded) / len(padded)
    var = sum((v - share) ** 2 for v in padded) / (len(padded) - 1)
    phi = min(1.0, var / (share * (1 - share)))
    n = len(y) / phi
    p = sum(y) / len(y)
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return 1 + 4 * max(0.0, centre - half), 1 + 4 * min(1.0, centre + half)


def test_rating_summary() -> None:
    summary = rating_summary([5, 4, 4, 3, None, 5, 2])
    assert summary.n == 6
    assert summary.mean == pytest.approx(23 / 6)
    assert summary.median == 4.0
    assert summary.counts == {1: 0, 2: 1, 3: 1, 4: 2, 5: 2}
    low, high = _by_hand([5, 4, 4, 3, 5, 2])
    assert summary.ci_low == pytest.approx(low, abs=1e-12)
    assert summary.ci_high == pytest.approx(high, abs=1e-12)
    assert summary.ci_note is None
    # about as wide as the t-interval (3.83 +- 1.23) on spread-out ratings
    assert 2.0 < (summary.ci_high or 0) - (summary.ci_low or 0) < 2.6
    assert summary.to_dict()["counts"] == {"1": 0, "2": 1, "3": 1, "4": 2, "5": 2}
    assert summary.to_dict()["ci_note"] is None


def test_too_few_ratings_give_no_interval_but_a_note() -> None:
    assert MIN_INTERVAL_N == 5
    two = rating_summary([2, 4])  # the t-interval gave -9.7 to 15.7 here
    assert (two.ci_low, two.ci_high) == (None, None)
    assert two.ci_note == "n too small (n=2 < 5)"
    assert two.to_dict()["ci_note"] == "n too small (n=2 < 5)" and two.mean == 3.0
    four = rating_summary([5, 5, 5, 5])
    assert four.ci_low is None and four.ci_note == "n too small (n=4 < 5)"
    empty = rating_summary([])
    assert empty.ci_note == "n too small (n=0 < 5)"
    assert rating_summary([1, 2, 3, 4, 5]).ci_note is None
    assert rating_summary([3, 4], min_n=2).ci_low is not None


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 20, 200])
@pytest.mark.parametrize("score", [1, 5])
def test_extreme_data_stays_on_the_scale(n: int, score: int) -> None:
    interval = bounded_mean_interval([float(score)] * n, 1, 5)
    assert interval is not None
    low, high = interval
    assert 1.0 <= low < high <= 5.0, "inside 1-5 and never of zero width"
    assert low <= score <= high
    # the worst case of a [0, 1] variable: Wilson's interval of n "successes" out of n
    share = wilson_interval(n if score == 5 else 0, n, z=Z)
    assert (low, high) == pytest.approx((1 + 4 * share[0], 1 + 4 * share[1]))


def test_three_fives_by_hand() -> None:
    low, high = bounded_mean_interval([5.0, 5.0, 5.0], 1, 5) or (math.nan, math.nan)
    assert low == pytest.approx(1 + 4 / (1 + Z * Z / 3))  # 2.754
    assert low == pytest.approx(2.754, abs=1e-3) and high == 5.0
    five = rating_summary([5] * 5)
    assert (five.ci_low, five.ci_high) == pytest.approx((3.262, 5.0), abs=1e-3)


def test_ends_of_the_scale_only_is_wilson_of_the_count() -> None:
    """Scores only at 1 and 5 are a Bernoulli variable: the interval is Wilson's."""
    scores = [1, 5, 5, 1, 5, 5, 5]
    low, high = wilson_interval(5, 7, z=Z)
    assert bounded_mean_interval([float(s) for s in scores], 1, 5) == pytest.approx(
        (1 + 4 * low, 1 + 4 * high)
    )
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    reference = proportion.proportion_confint(5, 7, alpha=0.05, method="wilson")
    assert (low, high) == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize(
    "scores",
    [[5, 5, 5, 5, 4], [1, 1, 1, 1, 2], [1, 5, 1, 5, 3], [4, 4, 4, 4, 4, 4], [2, 4, 3, 5, 1]],
)
def test_small_extreme_samples(scores: list[int]) -> None:
    summary = rating_summary(scores)
    assert summary.ci_low is not None and summary.ci_high is not None
    assert 1.0 <= summary.ci_low < (summary.mean or 0) < summary.ci_high <= 5.0
    assert (summary.ci_low, summary.ci_high) == pytest.approx(_by_hand(scores))


def test_other_levels_use_their_own_bounds() -> None:
    summary = rating_summary([10, 10, 10, 9, 10], levels=range(0, 11))
    assert summary.ci_low is not None and summary.ci_high is not None
    assert 0.0 <= summary.ci_low < summary.ci_high <= 10.0
    with pytest.raises(ValueError, match="between"):
        bounded_mean_interval([6.0], 1, 5)
    assert bounded_mean_interval([], 1, 5) is None


def test_many_ratings_give_about_the_t_width() -> None:
    rng = np.random.default_rng(4)
    scores = rng.choice([1, 2, 3, 4, 5], p=[0.05, 0.1, 0.25, 0.35, 0.25], size=400)
    low, high = bounded_mean_interval([float(s) for s in scores], 1, 5) or (0.0, 0.0)
    t_half = 1.966 * float(np.std(scores, ddof=1)) / math.sqrt(scores.size)
    assert high - low == pytest.approx(2 * t_half, rel=0.05)


@pytest.mark.parametrize(
    ("shares", "n"),
    [
        ([0.0, 0.0, 0.0, 0.1, 0.9], 8),  # mostly 5s: a t-interval covers about 56% here
        ([0.0, 0.1, 0.8, 0.1, 0.0], 6),  # piled up in the middle
        ([0.2, 0.2, 0.2, 0.2, 0.2], 5),
        ([0.6, 0.2, 0.1, 0.05, 0.05], 10),  # skewed
    ],
)
def test_coverage_by_simulation(shares: list[float], n: int) -> None:
    rng = np.random.default_rng(11)
    true_mean = float(np.dot(shares, [1, 2, 3, 4, 5]))
    samples = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], p=shares, size=(2000, n))
    hits = 0
    for sample in samples:
        low, high = bounded_mean_interval(list(sample), 1, 5) or (math.nan, math.nan)
        hits += low <= true_mean <= high
    assert hits / len(samples) >= 0.93


def test_rating_table() -> None:
    ratings = [
        Rating("m2", "correctness", 5),
        Rating("m1", "readability", 2),
        Rating("m1", "correctness", 3),
        Rating("m1", "correctness", 4),
    ]
    table = rating_table(ratings)
    assert list(table) == ["m1", "m2"]
    assert list(table["m1"]) == ["correctness", "readability"]
    assert table["m1"]["correctness"].mean == 3.5
    assert table["m1"]["correctness"].ci_note == "n too small (n=2 < 5)"
    assert table["m2"]["correctness"].counts[5] == 1


def test_invalid_scores() -> None:
    one = rating_summary([4])
    assert (one.mean, one.median, one.ci_low, one.ci_high) == (4.0, 4.0, None, None)
    with pytest.raises(ValueError, match="scores must be in"):
        rating_summary([1, 6])
    assert rating_summary([0, 10], levels=range(0, 11)).mean == 5.0
