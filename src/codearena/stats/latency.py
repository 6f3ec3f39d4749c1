"""Percentiles of latency samples with bootstrap intervals, and the difference of two medians.

Pure functions over plain sequences of milliseconds (numpy only); ``codearena.experiments``
loads the samples and calls them. Every interval is a seeded percentile bootstrap (the same
seed gives the same interval).

How many samples a figure needs (docs/experiments.md, "Too few samples"): the q-th percentile
is reported only when at least one sample lies beyond it, ``n * (1 - q) >= 1`` (p90 from 10
samples, p99 from 100), and its interval only when at least ``TAIL_SAMPLES`` (5) samples lie on
each side of it, ``n * min(q, 1 - q) >= 5`` (the median from 10, p90 from 50, p99 from 500).
Below that the value is None and a warning says why: a bootstrap of the largest of 20 samples
would give a narrow, confident-looking and wrong interval of p99.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

TAIL_SAMPLES = 5
"""The fewest samples on each side of a percentile from which its interval is computed."""
DEFAULT_ROUNDS = 2000
DEFAULT_CONFIDENCE = 0.95
_CHUNK = 250  # bootstrap rounds per batch, so a large sample does not take rounds x n memory
PERCENTILES: tuple[tuple[str, float], ...] = (("median", 0.5), ("p90", 0.9), ("p99", 0.99))


def min_n_for_value(q: float) -> int:
    """The fewest samples whose q-th percentile is reported: one of them beyond it."""
    return max(1, math.ceil(1.0 / (1.0 - q) - 1e-9)) if q > 0.5 else 1


def min_n_for_interval(q: float) -> int:
    """The fewest samples whose q-th percentile gets an interval: ``TAIL_SAMPLES`` each side."""
    return math.ceil(TAIL_SAMPLES / min(q, 1.0 - q) - 1e-9)


@dataclass(frozen=True)
class Percentiles:
    """Median, p90 and p99 of one series, each with its interval (None when there are too few
    samples; ``warnings`` then says so). ``ci_low`` / ``ci_high`` are the median's interval."""

    n: int
    median: float | None
    p90: float | None
    p99: float | None
    ci_low: float | None
    ci_high: float | None
    p90_ci: tuple[float, float] | None = None
    p99_ci: tuple[float, float] | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "p90_ci": list(self.p90_ci) if self.p90_ci else None,
            "p99_ci": list(self.p99_ci) if self.p99_ci else None,
        }


def _clean(values: Sequence[float | None]) -> NDArray[np.float64]:
    data = np.asarray([v for v in values if v is not None], dtype=float)
    kept: NDArray[np.float64] = data[np.isfinite(data)]
    return kept


def _boot_quantiles(
    data: NDArray[np.float64], qs: Sequence[float], rounds: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``(rounds, len(qs))`` quantiles of bootstrap resamples of ``data``."""
    out = np.empty((rounds, len(qs)))
    for start in range(0, rounds, _CHUNK):
        size = min(_CHUNK, rounds - start)
        resamples = data[rng.integers(0, data.size, size=(size, data.size))]
        out[start : start + size] = np.quantile(resamples, list(qs), axis=1).T
    return out


def _interval(boot: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(boot, [tail, 100.0 - tail])
    return float(low), float(high)


def percentiles(
    values: Sequence[float | None],
    *,
    label: str = "values",
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Percentiles:
    """Median, p90, p99 of ``values`` (None and NaN left out) with seeded percentile-bootstrap
    intervals; each one None, with a warning naming ``label``, when the samples are too few
    (see the module docstring)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    data = _clean(values)
    n = int(data.size)
    missing: list[str] = []
    points: dict[str, float | None] = {}
    wanted: list[tuple[str, float]] = []
    for name, q in PERCENTILES:
        if n > 0 and n >= min_n_for_value(q):
            points[name] = float(np.quantile(data, q))
            if n >= min_n_for_interval(q):
                wanted.append((name, q))
            else:
                missing.append(f"no interval for the {name} (needs {min_n_for_interval(q)})")
        else:
            points[name] = None
            if n > 0:
                missing.append(f"no {name} (needs {min_n_for_value(q)})")
    warnings: list[str] = []
    if n == 0:
        warnings.append(f"{label}: no samples")
    elif missing:
        warnings.append(f"{label}: n={n}: " + ", ".join(missing))
    intervals: dict[str, tuple[float, float]] = {}
    if wanted:
        boot = _boot_quantiles(data, [q for _, q in wanted], rounds, np.random.default_rng(seed))
        for column, (name, _) in enumerate(wanted):
            intervals[name] = _interval(boot[:, column], confidence)
    median_ci = intervals.get("median")
    return Percentiles(
        n=n,
        median=points["median"],
        p90=points["p90"],
        p99=points["p99"],
        ci_low=median_ci[0] if median_ci else None,
        ci_high=median_ci[1] if median_ci else None,
        p90_ci=intervals.get("p90"),
        p99_ci=intervals.get("p99"),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class MedianDifference:
    """``median(a) - median(b)`` with its bootstrap interval (None with a warning when either
    side has too few samples for a median's interval)."""

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    warning: str | None = None


def median_difference(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    label: str = "difference",
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> MedianDifference:
    """The difference of the medians of two independent samples, ``median(a) - median(b)``,
    with a seeded percentile-bootstrap interval: each sample is resampled on its own, and the
    interval is that of the differences of the resamples' medians. Both samples need
    ``min_n_for_interval(0.5)`` (10) values for an interval; the difference itself needs one
    value on each side."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return MedianDifference(None, None, None, f"{label}: no samples on one side")
    difference = float(np.median(x) - np.median(y))
    needed = min_n_for_interval(0.5)
    if x.size < needed or y.size < needed:
        return MedianDifference(
            difference,
            None,
            None,
            f"{label}: no interval (n={x.size} and {y.size}; each needs {needed})",
        )
    rng = np.random.default_rng(seed)
    boot = (
        _boot_quantiles(x, [0.5], rounds, rng)[:, 0] - _boot_quantiles(y, [0.5], rounds, rng)[:, 0]
    )
    low, high = _interval(boot, confidence)
    return MedianDifference(difference, low, high)


def share(count: int, total: int) -> float | None:
    """``count / total``, or None for nothing."""
    return count / total if total else None
