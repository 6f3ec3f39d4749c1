"""Summaries of 1-5 ratings, per model and rating dimension.

The interval for the mean is ``intervals.bounded_mean_interval``: a Wilson score interval with the
ratings' own spread, which never leaves the scale (1 to 5), is never of zero width and, unlike a
Student-t interval, keeps close to its 95% coverage with few ratings or ratings piled up at one
end. It is reported only from ``MIN_INTERVAL_N`` ratings on; below that it is None and
``ci_note`` says "n too small (n=2 < 5)".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .intervals import (
    MIN_INTERVAL_N,
    bounded_mean_interval,
    mean_or_none,
    median_or_none,
    too_few,
)

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RatingSummary:
    """Mean, median, how many ratings fell on each level, and an interval for the mean (None
    below ``min_n`` ratings, with ``ci_note`` saying why; every figure None when there are
    none)."""

    mean: float | None
    median: float | None
    counts: dict[int, int]
    ci_low: float | None
    ci_high: float | None
    n: int
    ci_note: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "mean": self.mean,
            "median": self.median,
            "counts": {str(k): v for k, v in self.counts.items()},
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "ci_note": self.ci_note,
        }


@dataclass(frozen=True)
class Rating:
    """One person's score for one model on one dimension (e.g. correctness, readability)."""

    model: str
    dimension: str
    score: int


def rating_summary(
    values: Iterable[int | None],
    *,
    levels: Sequence[int] = LEVELS,
    confidence: float = 0.95,
    min_n: int = MIN_INTERVAL_N,
) -> RatingSummary:
    """Summarise scores; None means "not rated" and is skipped. A score outside ``levels`` is
    an error, not a silent outlier. The interval lies within ``min(levels)`` to ``max(levels)``."""
    scores = [v for v in values if v is not None]
    allowed = set(levels)
    wrong = sorted({s for s in scores if s not in allowed})
    if wrong:
        raise ValueError(f"scores must be in {sorted(allowed)}, got {wrong}")
    counts = {level: 0 for level in levels}
    for s in scores:
        counts[s] += 1
    floats = [float(s) for s in scores]
    note = too_few(len(scores), min_n)
    interval = (
        None
        if note is not None
        else bounded_mean_interval(floats, min(levels), max(levels), confidence)
    )
    return RatingSummary(
        mean=mean_or_none(floats),
        median=median_or_none(floats),
        counts=counts,
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
        n=len(scores),
        ci_note=note,
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
