"""Summaries of 1-5 ratings, per model and rating dimension.

The interval is a Student-t interval for the mean (``mean ± t(n-1) * sd / sqrt(n)``): it is
deterministic and, for bounded 1-5 scores and the sample sizes of a study, close to a bootstrap
interval. It is not clipped to the scale, so with few and spread ratings it can reach past 1 or 5.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .intervals import mean_or_none, median_or_none, t_interval

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RatingSummary:
    """Mean, median, how many ratings fell on each level, and a t-interval for the mean
    (None when there are fewer than 2 ratings; every figure None when there are none)."""

    mean: float | None
    median: float | None
    counts: dict[int, int]
    ci_low: float | None
    ci_high: float | None
    n: int

    def to_dict(self) -> dict[str, object]:
        return {
            "mean": self.mean,
            "median": self.median,
            "counts": {str(k): v for k, v in self.counts.items()},
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
        }


@dataclass(frozen=True)
class Rating:
    """One person's score for one model on one dimension (e.g. correctness, readability)."""

    model: str
    dimension: str
    score: int


def rating_summary(
    values: Iterable[int | None], *, levels: Sequence[int] = LEVELS, confidence: float = 0.95
) -> RatingSummary:
    """Summarise scores; None means "not rated" and is skipped. A score outside ``levels`` is
    an error, not a silent outlier."""
    scores = [v for v in values if v is not None]
    allowed = set(levels)
    wrong = sorted({s for s in scores if s not in allowed})
    if wrong:
        raise ValueError(f"scores must be in {sorted(allowed)}, got {wrong}")
    counts = {level: 0 for level in levels}
    for s in scores:
        counts[s] += 1
    floats = [float(s) for s in scores]
    interval = t_interval(floats, confidence)
    return RatingSummary(
        mean=mean_or_none(floats),
        median=median_or_none(floats),
        counts=counts,
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
        n=len(scores),
    )


def rating_table(
    ratings: Iterable[Rating], *, levels: Sequence[int] = LEVELS, confidence: float = 0.95
) -> dict[str, dict[str, RatingSummary]]:
    """``{model: {dimension: RatingSummary}}``, models and dimensions sorted by name."""
    grouped: defaultdict[str, defaultdict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in ratings:
        grouped[r.model][r.dimension].append(r.score)
    return {
        model: {
            dim: rating_summary(grouped[model][dim], levels=levels, confidence=confidence)
            for dim in sorted(grouped[model])
        }
        for model in sorted(grouped)
    }
