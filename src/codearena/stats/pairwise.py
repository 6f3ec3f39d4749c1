"""Pairwise comparisons of models: Holm's correction, Cliff's delta, win probabilities.

* Holm (1979): with ``m`` p-values sorted ascending, ``p_holm(i) = max_{j <= i} min(1,
  (m - j + 1) * p(j))``; it controls the family-wise error rate under any dependence.
* Cliff's delta of two samples ``x`` and ``y``: ``P(X > Y) - P(X < Y)`` over all pairs, in
  [-1, 1] (0: neither tends to be larger); computed by sorting, O((n + m) log m).
* Win probability of ``a`` over ``b`` from pairwise votes: ``(wins_a + tie_weight * ties) / n``
  (a tie and a "both bad" vote count ``tie_weight`` for each side); its p-value is the exact
  two-sided binomial (sign) test of the decisive votes against 1/2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input's order; a None stays None and is not counted."""
    known = [(i, float(p)) for i, p in enumerate(p_values) if p is not None]
    result: list[float | None] = [None] * len(p_values)
    m = len(known)
    running = 0.0
    for rank, (index, p) in enumerate(sorted(known, key=lambda item: item[1])):
        running = max(running, min(1.0, (m - rank) * p))
        result[index] = running
    return result


def cliffs_delta(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Cliff's delta ``P(X > Y) - P(X < Y)``; None when either sample is empty."""
    if not x or not y:
        return None
    ys = np.sort(np.asarray(y, dtype=float))
    xs = np.asarray(x, dtype=float)
    below = np.searchsorted(ys, xs, side="left")  # y < x
    above = len(ys) - np.searchsorted(ys, xs, side="right")  # y > x
    return float((below.sum() - above.sum()) / (len(xs) * len(ys)))


@dataclass(frozen=True)
class VoteComparison:
    """Votes between two models: ``win_probability`` of ``a`` and the sign test's ``p``."""

    a: str
    b: str
    n: int
    wins_a: int
    wins_b: int
    ties: int
    win_probability: float | None
    p: float | None


def compare_votes(
    a: str, b: str, wins_a: int, wins_b: int, ties: int, *, tie_weight: float = 0.5
) -> VoteComparison:
    """Win probability of ``a`` over ``b`` and the exact binomial test of its decisive votes."""
    from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

    n = wins_a + wins_b + ties
    probability = (wins_a + tie_weight * ties) / n if n else None
    decisive = wins_a + wins_b
    p = float(binomtest(wins_a, decisive, 0.5).pvalue) if decisive else None
    return VoteComparison(a, b, n, wins_a, wins_b, ties, probability, p)
