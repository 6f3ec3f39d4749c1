"""Confidence intervals and small robust summaries shared by the other stats modules."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats as _scipy_stats  # type: ignore[import-untyped, unused-ignore]

Interval = tuple[float, float]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> Interval:
    """Wilson score interval for a binomial proportion (no continuity correction).

    ``z=1.96`` gives the usual 95% interval. Unlike the normal ("Wald") interval it stays inside
    [0, 1] and is sensible at 0 or n successes; 8 of 10 gives (0.490, 0.943)."""
    if n <= 0:
        raise ValueError("n must be positive: a proportion of nothing has no interval")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
    """Student-t interval for the mean: ``mean ± t(n-1) * sd / sqrt(n)``; None below 2 values."""
    data = np.asarray(values, dtype=float)
    n = data.size
    if n < 2:
        return None
    mean = float(data.mean())
    sem = float(data.std(ddof=1)) / math.sqrt(n)
    critical = float(_scipy_stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    return mean - critical * sem, mean + critical * sem


def percentile_interval(samples: NDArray[np.float64], confidence: float = 0.95) -> Interval | None:
    """Percentile interval of bootstrap samples, ignoring NaN; None when none is finite."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval | None:
    """Seeded percentile-bootstrap interval of ``statistic`` (the mean by default), which takes
    a ``(rounds, n)`` array of resamples and returns one value per row."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    resamples = data[rng.integers(0, data.size, size=(rounds, data.size))]
    estimates = resamples.mean(axis=1) if statistic is None else statistic(resamples)
    return percentile_interval(np.asarray(estimates, dtype=float), confidence)


def present(values: Iterable[float | None]) -> list[float]:
    """The values that are neither None nor NaN."""
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """Mean of the present values, or None when there are none."""
    kept = present(values)
    return sum(kept) / len(kept) if kept else None


def median_or_none(values: Iterable[float | None]) -> float | None:
    """Median of the present values, or None when there are none."""
    kept = present(values)
    return float(np.median(kept)) if kept else None
