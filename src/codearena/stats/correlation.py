"""Spearman rank correlation between paired measurements, with a seeded bootstrap interval.

Typical use: a model's human rating against an objective figure, task by task. Pairs where
either value is missing (None or NaN) are dropped. The interval resamples the pairs
(percentile bootstrap); the p-value is the usual t approximation with n - 2 degrees of freedom
(the same as ``scipy.stats.spearmanr``). The interval needs ``MIN_INTERVAL_N`` pairs (a
bootstrap of three or four pairs mostly redraws the same few points); below that it is None and
``ci_note`` says "n too small (n=3 < 5)". Resampled rho stays in [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from .intervals import MIN_INTERVAL_N, percentile_interval, scipy_stats, too_few


@dataclass(frozen=True)
class Correlation:
    """rho is None with fewer than 2 pairs or a constant side; p_value needs 3 pairs; the
    interval needs ``MIN_INTERVAL_N`` pairs (``ci_note`` says why it is missing)."""

    rho: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    p_value: float | None
    ci_note: str | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def _rowwise_spearman(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Spearman's rho of each row pair of two ``(R, n)`` arrays (average ranks for ties); NaN
    for a row where either side is constant."""
    rx = np.asarray(scipy_stats().rankdata(x, axis=1), dtype=float)
    ry = np.asarray(scipy_stats().rankdata(y, axis=1), dtype=float)
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denominator > 0, (rx * ry).sum(axis=1) / denominator, np.nan)
    clipped: NDArray[np.float64] = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return clipped


def _p_value(rho: float, n: int) -> float | None:
    if n < 3:
        return None
    if abs(rho) >= 1.0:
        return 0.0
    t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
    return float(2.0 * scipy_stats().t.sf(abs(t), n - 2))


def spearman_with_ci(
    x: Sequence[float | None],
    y: Sequence[float | None],
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_n: int = MIN_INTERVAL_N,
) -> Correlation:
    """Spearman's rho of paired ``x`` and ``y`` with a percentile bootstrap interval."""
    if len(x) != len(y):
        raise ValueError(f"x and y must be paired: {len(x)} values against {len(y)}")
    pairs = [
        (float(a), float(b))
        for a, b in zip(x, y, strict=True)
        if a is not None and b is not None and not math.isnan(a) and not math.isnan(b)
    ]
    n = len(pairs)
    note = too_few(n, min_n)
    if n < 2:
        return Correlation(None, None, None, n, None, note)
    xs = np.array([p[0] for p in pairs])
    ys = np.array([p[1] for p in pairs])
    rho = float(_rowwise_spearman(xs[None, :], ys[None, :])[0])
    if math.isnan(rho):
        return Correlation(None, None, None, n, None, note or "no rho: one side is constant")
    if note is not None:
        return Correlation(rho, None, None, n, _p_value(rho, n), note)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(rounds, n))
    interval = percentile_interval(_rowwise_spearman(xs[picks], ys[picks]), confidence)
    return Correlation(
        rho=rho,
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
        n=n,
        p_value=_p_value(rho, n),
        ci_note=None if interval is not None else "no interval: every resample has a constant side",
    )
