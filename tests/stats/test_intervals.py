"""Wilson, t and bootstrap intervals against published and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codearena.stats import (
    bootstrap_interval,
    mean_or_none,
    median_or_none,
    percentile_interval,
    t_interval,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.490, 0.943),  # the textbook example
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_values(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, n)
    digits = 10 ** -(len(str(low).split(".")[1]))
    assert got_low == pytest.approx(low, abs=digits / 2)
    assert got_high == pytest.approx(high, abs=digits / 2)


def test_wilson_against_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for successes, n in [(0, 5), (3, 7), (50, 100), (99, 100), (12, 1000)]:
        expected = proportion.proportion_confint(successes, n, alpha=0.05, method="wilson")
        np.testing.assert_allclose(
            wilson_interval(successes, n, z=1.959963984540054), expected, atol=1e-12
        )


def test_wilson_edges_and_z() -> None:
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[0] == 0.0
    narrow, wide = wilson_interval(8, 10, z=1.0), wilson_interval(8, 10, z=2.576)
    assert wide[0] < narrow[0] < 0.8 < narrow[1] < wide[1]
    with pytest.raises(ValueError, match="positive"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between"):
        wilson_interval(11, 10)


def test_t_interval_hand_computed() -> None:
    # 1..10: mean 5.5, sd 3.02765, t(0.975, 9) = 2.262157 -> 5.5 +- 2.16585
    low, high = t_interval([float(v) for v in range(1, 11)]) or (math.nan, math.nan)
    assert low == pytest.approx(3.33415, abs=1e-4)
    assert high == pytest.approx(7.66585, abs=1e-4)
    assert t_interval([3.0]) is None
    assert t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_bootstrap_interval_is_seeded_and_sensible() -> None:
    values = list(np.random.default_rng(0).normal(10.0, 2.0, size=200))
    first = bootstrap_interval(values, seed=3)
    assert first == bootstrap_interval(values, seed=3)
    assert first is not None and first[0] < float(np.mean(values)) < first[1]
    assert first[1] - first[0] == pytest.approx(2 * 1.96 * 2.0 / math.sqrt(200), rel=0.25)
    medians = bootstrap_interval(values, lambda a: np.median(a, axis=1), rounds=500)
    assert medians is not None and medians[0] < 10.5 and medians[1] > 9.5
    assert bootstrap_interval([]) is None


def test_percentile_interval_ignores_nan() -> None:
    samples = np.array([np.nan, *range(101)], dtype=float)
    assert percentile_interval(samples) == pytest.approx((2.5, 97.5))
    assert percentile_interval(np.array([np.nan])) is None


def test_mean_and_median_or_none() -> None:
    assert median_or_none([3.0, None, 1.0, float("nan"), 2.0, 10.0]) == 2.5
    assert mean_or_none([1.0, None, 2.0]) == 1.5
    assert median_or_none([]) is None and mean_or_none([None]) is None


def test_too_few_note() -> None:
    from codearena.stats import MIN_INTERVAL_N, too_few

    assert too_few(2) == f"n too small (n=2 < {MIN_INTERVAL_N})" == "n too small (n=2 < 5)"
    assert too_few(MIN_INTERVAL_N) is None and too_few(3, minimum=3) is None


def test_the_t_interval_leaves_the_rating_scale() -> None:
    """The issue's example: two ratings 2 and 4; the bounded interval stays within 1-5."""
    from codearena.stats import bounded_mean_interval

    low, high = t_interval([2.0, 4.0]) or (math.nan, math.nan)
    assert (round(low, 1), round(high, 1)) == (-9.7, 15.7)
    bounded = bounded_mean_interval([2.0, 4.0], 1, 5)
    assert bounded is not None and 1.0 <= bounded[0] < 3.0 < bounded[1] <= 5.0


def test_bca_interval_for_skewed_non_negative_amounts() -> None:
    from codearena.stats import bca_interval

    minutes = [0.0, 0.0, 0.0, 0.0, 30.0]
    t_low, _ = t_interval(minutes) or (math.nan, math.nan)
    assert t_low < 0  # a t-interval says the mean could be negative minutes
    low, high = bca_interval(minutes) or (math.nan, math.nan)
    assert 0.0 <= low < 6.0 < high <= 30.0
    assert bca_interval(minutes) == bca_interval(minutes, seed=0)  # seeded
    assert bca_interval([4.0, 4.0, 4.0]) == (4.0, 4.0) and bca_interval([1.0]) is None
    rng = np.random.default_rng(2)
    values = list(rng.exponential(10.0, size=60))
    low, high = bca_interval(values) or (math.nan, math.nan)
    assert min(values) <= low < float(np.mean(values)) < high <= max(values)
    normal = list(rng.normal(50.0, 5.0, size=400))
    t_low, t_high = t_interval(normal) or (math.nan, math.nan)
    low, high = bca_interval(normal) or (math.nan, math.nan)
    assert (low, high) == pytest.approx((t_low, t_high), abs=0.2)


def test_bca_interval_against_scipy() -> None:
    from scipy import stats as scipy_stats  # type: ignore[import-untyped, unused-ignore]

    from codearena.stats import bca_interval

    values = list(np.random.default_rng(8).lognormal(1.0, 0.8, size=40))
    ours = bca_interval(values, rounds=20000)
    reference = scipy_stats.bootstrap(
        (np.array(values),), np.mean, n_resamples=20000, method="BCa", random_state=1
    ).confidence_interval
    assert ours == pytest.approx((reference.low, reference.high), rel=0.03)
