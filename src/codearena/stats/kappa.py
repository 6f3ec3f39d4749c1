"""Agreement of two raters on nominal labels: observed agreement and Cohen's kappa.

Model: for N items, each labelled once by rater 1 and once by rater 2 with one of K categories,
the observed agreement is ``p_o = (1/N) * #{i : x_i == y_i}`` and the chance agreement is
``p_e = sum_k p1_k * p2_k`` (each rater's own marginal share of category k). Cohen's kappa is
``(p_o - p_e) / (1 - p_e)``: 1 for perfect agreement, 0 for what independent raters with these
marginals would reach, negative below that. It is undefined (None) when ``p_e == 1`` (both
raters used one and the same category for every item).

The interval is a percentile bootstrap over items (``rounds`` resamples, seeded); with fewer than
``MIN_ITEMS`` items, or when kappa is undefined in too many resamples, no interval is given and
the result says why, instead of showing a misleading one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_ITEMS = 10
"""Fewer items than this give a kappa but no interval."""


@dataclass(frozen=True)
class Agreement:
    """Observed agreement and Cohen's kappa of two label sequences, with kappa's interval."""

    n: int
    observed: float | None
    kappa: float | None
    ci_low: float | None
    ci_high: float | None
    note: str | None


def _kappa_batch(
    first: NDArray[np.int64], second: NDArray[np.int64], k: int
) -> NDArray[np.float64]:
    """Kappa of each row of two ``(R, N)`` code arrays (NaN where undefined)."""
    rows, n = first.shape
    observed = (first == second).mean(axis=1)
    offsets = (np.arange(rows) * k)[:, None]
    counts1 = np.bincount((first + offsets).ravel(), minlength=rows * k).reshape(rows, k)
    counts2 = np.bincount((second + offsets).ravel(), minlength=rows * k).reshape(rows, k)
    chance = (counts1 * counts2).sum(axis=1) / float(n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - chance) / (1.0 - chance)
    return np.where(np.isclose(chance, 1.0), np.nan, kappa)


def cohen_kappa(
    first: Sequence[str],
    second: Sequence[str],
    *,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Agreement:
    """Agreement of ``first[i]`` with ``second[i]`` over all items (see the module doc)."""
    if len(first) != len(second):
        raise ValueError(
            f"two raters need the same items: {len(first)} labels against {len(second)}"
        )
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    n = len(first)
    if n == 0:
        return Agreement(0, None, None, None, None, "no items: nothing to compare")
    categories = sorted(set(first) | set(second))
    code = {label: i for i, label in enumerate(categories)}
    x = np.array([code[v] for v in first], dtype=np.int64)
    y = np.array([code[v] for v in second], dtype=np.int64)
    point = _kappa_batch(x[None, :], y[None, :], len(categories))[0]
    observed = float((x == y).mean())
    kappa = None if np.isnan(point) else float(point)
    if kappa is None:
        note = "kappa is undefined: both raters gave every item the same one label"
        return Agreement(n, observed, None, None, None, note)
    if n < MIN_ITEMS:
        note = f"{n} items: too few for an interval (at least {MIN_ITEMS})"
        return Agreement(n, observed, kappa, None, None, note)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(rounds, n))
    boot = _kappa_batch(x[picks], y[picks], len(categories))
    defined = boot[~np.isnan(boot)]
    if defined.size < 0.9 * rounds:
        note = "kappa is undefined in more than a tenth of the resamples: no interval"
        return Agreement(n, observed, kappa, None, None, note)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return Agreement(n, observed, kappa, float(low), float(high), None)
