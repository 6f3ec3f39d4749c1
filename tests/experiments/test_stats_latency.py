"""Percentiles with bootstrap intervals and the difference of medians, on synthetic samples."""

from __future__ import annotations

import numpy as np
import pytest

from codearena.stats.latency import (
    median_difference,
    min_n_for_interval,
    min_n_for_value,
    percentiles,
)


def test_the_minimum_samples_of_each_percentile() -> None:
    assert [min_n_for_value(q) for q in (0.5, 0.9, 0.99)] == [1, 10, 100]
    assert [min_n_for_interval(q) for q in (0.5, 0.9, 0.99)] == [10, 50, 500]


def test_percentiles_of_a_large_sample_have_intervals_around_them() -> None:
    values = np.random.default_rng(1).lognormal(mean=5.0, sigma=0.4, size=600).tolist()
    result = percentiles(values, label="x")
    assert result.n == 600 and result.warnings == ()
    assert result.median == pytest.approx(float(np.quantile(values, 0.5)))
    assert result.p99 == pytest.approx(float(np.quantile(values, 0.99)))
    median, p90, p99 = result.median, result.p90, result.p99
    assert median is not None and p90 is not None and p99 is not None
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < median < result.ci_high
    assert result.p90_ci is not None and result.p90_ci[0] < p90 < result.p90_ci[1]
    assert result.p99_ci is not None and result.p99_ci[0] <= p99 <= result.p99_ci[1]
    assert median < p90 < p99


def test_too_few_samples_give_null_and_a_warning_instead_of_an_interval() -> None:
    result = percentiles([100.0 + i for i in range(20)], label="route latency_ms")
    assert result.median is not None and result.ci_low is not None  # 20 >= 10
    assert result.p90 is not None and result.p90_ci is None  # 20 < 50
    assert result.p99 is None and result.p99_ci is None  # 20 < 100
    assert result.warnings == (
        "route latency_ms: n=20: no interval for the p90 (needs 50), no p99 (needs 100)",
    )
    small = percentiles([5.0, 7.0, None, float("nan")], label="s")
    assert small.n == 2 and small.median == 6.0 and small.ci_low is None and small.ci_high is None
    assert small.to_dict()["p90"] is None
    assert percentiles([], label="e").warnings == ("e: no samples",)


def test_intervals_are_seeded() -> None:
    values = np.random.default_rng(2).normal(200, 20, size=80).tolist()
    assert percentiles(values, seed=3) == percentiles(values, seed=3)
    assert percentiles(values, seed=3).ci_low != percentiles(values, seed=4).ci_low


def test_a_clear_difference_of_medians_excludes_zero() -> None:
    rng = np.random.default_rng(5)
    fast = rng.normal(100, 10, size=40).tolist()
    slow = rng.normal(160, 10, size=40).tolist()
    diff = median_difference(fast, slow)
    assert diff.difference == pytest.approx(float(np.median(fast) - np.median(slow)))
    assert diff.difference is not None
    assert diff.ci_low is not None and diff.ci_high is not None
    assert diff.ci_low < diff.difference < diff.ci_high < 0
    assert diff.warning is None


def test_the_same_distribution_gives_an_interval_holding_zero() -> None:
    rng = np.random.default_rng(6)
    diff = median_difference(rng.normal(100, 10, 60).tolist(), rng.normal(100, 10, 60).tolist())
    assert diff.ci_low is not None and diff.ci_high is not None
    assert diff.ci_low < 0 < diff.ci_high


def test_a_difference_without_enough_samples_has_no_interval() -> None:
    diff = median_difference([1.0, 2.0, 3.0], [4.0] * 20, label="a - b")
    assert diff.difference == -2.0 and diff.ci_low is None and diff.ci_high is None
    assert diff.warning == "a - b: no interval (n=3 and 20; each needs 10)"
    empty = median_difference([], [1.0])
    assert empty.difference is None and empty.warning is not None
