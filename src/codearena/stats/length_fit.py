"""Does a model fail on long task descriptions? Pass rate against description length.

Model: for answers i with description length ``L_i`` (characters) and outcome ``y_i`` (1 passed,
0 not), ``P(y_i = 1) = sigmoid(a + b * log2(L_i))``: the odds of passing change by ``exp(b)``
each time the description doubles. Fitted by Newton's method on the log-likelihood with a small
ridge (``RIDGE``, on ``b`` and ``a`` alike) so that a model that passed or failed everything
still gets a finite fit. ``L50 = 2 ** (-a / b)`` is the length at which the fitted pass rate is
one half; it is reported only when ``b < 0`` (longer is worse) and ``L50`` lies within the
observed lengths, otherwise None with a note saying why.

Intervals: a percentile bootstrap over answers (``rounds`` resamples, seeded) for ``b`` and for
``L50`` (replicates where ``L50`` is undefined count as "not reached"; no interval for ``L50``
when more than a tenth of them are). Fewer than ``MIN_N`` answers, or fewer than 3 passes or 3
failures, give no fit: the result says "n too small" instead of a misleading curve; so do
lengths that span less than a doubling (no slope per doubling can be read from them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_N = 20
RIDGE = 1e-3


@dataclass(frozen=True)
class LengthFit:
    n: int
    passed: int
    slope: float | None  # b: change in log-odds per doubling of the description
    slope_low: float | None
    slope_high: float | None
    l50: float | None  # characters
    l50_low: float | None
    l50_high: float | None
    note: str | None


def _fit(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float]:
    """(a, b) of the penalised logistic fit of y on x: Newton's method on centred x (so the two
    columns are not nearly collinear), each step halved until the penalised log-likelihood
    does not fall."""
    centre = float(x.mean())
    design = np.column_stack([np.ones_like(x), x - centre])

    def objective(beta: NDArray[np.float64]) -> float:
        z = design @ beta
        return float(np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * RIDGE * beta @ beta)

    beta = np.zeros(2)
    current = objective(beta)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        grad = design.T @ (y - p) - RIDGE * beta
        hess = design.T @ (design * (p * (1 - p))[:, None]) + RIDGE * np.eye(2)
        step = np.linalg.solve(hess, grad)
        for _ in range(30):
            trial = beta + step
            value = objective(trial)
            if value >= current - 1e-12:
                break
            step = step / 2
        beta, current = trial, value
        if np.max(np.abs(step)) < 1e-10:
            break
    a_centred, b = float(beta[0]), float(beta[1])
    return a_centred - b * centre, b


def _l50(a: float, b: float, lo: float, hi: float) -> float | None:
    if b >= 0:
        return None
    log_length = -a / b
    return 2.0**log_length if lo <= log_length <= hi else None


def length_fit(
    lengths: Sequence[float], passed: Sequence[bool], *, rounds: int = 1000, seed: int = 0
) -> LengthFit:
    """The fit and its intervals (see the module doc)."""
    if len(lengths) != len(passed):
        raise ValueError("one outcome per length")
    n, wins = len(lengths), int(sum(passed))
    if n < MIN_N or wins < 3 or n - wins < 3:
        too_few = (
            f"n too small (n={n}, {wins} passed; at least {MIN_N} with 3 passes and 3 failures)"
        )
        return LengthFit(n, wins, None, None, None, None, None, None, too_few)
    if any(length <= 0 for length in lengths):
        raise ValueError("description lengths must be positive")
    if max(lengths) < 2 * min(lengths):
        spread = (
            f"the descriptions' lengths span less than a doubling ({min(lengths):.0f} to "
            f"{max(lengths):.0f} characters): too narrow a range to fit"
        )
        return LengthFit(n, wins, None, None, None, None, None, None, spread)
    x = np.log2(np.asarray(lengths, dtype=np.float64))
    y = np.asarray(passed, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    a, b = _fit(x, y)
    l50 = _l50(a, b, lo, hi)
    rng = np.random.default_rng(seed)
    slopes, halves = [], []
    for _ in range(rounds):
        pick = rng.integers(0, n, n)
        ra, rb = _fit(x[pick], y[pick])
        slopes.append(rb)
        halves.append(_l50(ra, rb, lo, hi))
    s_low, s_high = (float(v) for v in np.percentile(slopes, [2.5, 97.5]))
    note: str | None = None
    l50_low = l50_high = None
    defined = [h for h in halves if h is not None]
    if l50 is None:
        note = (
            "the fitted pass rate does not fall with length"
            if b >= 0
            else "the fitted pass rate does not reach 50% within the observed lengths"
        )
    elif len(defined) < 0.9 * rounds:
        note = "the 50% length is undefined in more than a tenth of the resamples: no interval"
    else:
        l50_low, l50_high = (float(v) for v in np.percentile(defined, [2.5, 97.5]))
    return LengthFit(n, wins, b, s_low, s_high, l50, l50_low, l50_high, note)


def doubling_odds(slope: float | None) -> float | None:
    """``exp(b)``: the factor on the odds of passing per doubling of the description."""
    return None if slope is None else math.exp(slope)
