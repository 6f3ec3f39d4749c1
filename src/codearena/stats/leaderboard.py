"""The arena leaderboard: Bradley-Terry ratings with seeded bootstrap intervals (FastChat style).

The bootstrap resamples the counted votes with replacement. Resampling N votes is the same as
drawing multinomial counts over the distinct (pair, outcome) cells with the observed
frequencies, so each round costs O(cells) and all rounds are fitted as one batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .bradley_terry import (
    FIRST_WINS,
    SECOND_WINS,
    BothBad,
    FloatArray,
    PairCounts,
    Vote,
    aggregate,
    fit_log_strengths,
    to_rating,
)


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's line: rating and its interval on the Elo-like scale, rank, and vote counts
    (``battles = wins + losses + ties``; "both bad" votes count as ties unless dropped)."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    rank: int
    battles: int
    wins: int
    losses: int
    ties: int

    def to_dict(self) -> dict[str, str | float | int]:
        return asdict(self)


def ranks_from_intervals(lows: Sequence[float], highs: Sequence[float]) -> list[int]:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound."""
    low = np.asarray(lows, dtype=float)
    return [1 + int(np.sum(low > high)) for high in highs]


def _outcome_counts(counts: PairCounts) -> tuple[FloatArray, FloatArray, FloatArray]:
    k = len(counts.models)
    wins, losses, ties = np.zeros(k), np.zeros(k), np.zeros(k)
    for i, j, outcome, n in zip(
        counts.first, counts.second, counts.outcome, counts.counts, strict=True
    ):
        if outcome == FIRST_WINS:
            wins[i] += n
            losses[j] += n
        elif outcome == SECOND_WINS:
            wins[j] += n
            losses[i] += n
        else:
            ties[i] += n
            ties[j] += n
    return wins, losses, ties


def leaderboard(
    votes: Iterable[Vote],
    *,
    rounds: int = 1000,
    seed: int = 0,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
    scale: float = 400.0,
    base: float = 1000.0,
    confidence: float = 0.95,
) -> list[LeaderboardRow]:
    """Ratings, percentile bootstrap intervals (``rounds`` resamples, seeded), ranks and counts,
    sorted by rating (highest first, then by name). Flagged votes are left out unless
    ``include_flagged``."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1 (the intervals come from the bootstrap)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    counts = aggregate(votes, both_bad=both_bad, include_flagged=include_flagged)
    if not counts.models:
        return []
    ratings = to_rating(
        fit_log_strengths(counts.win_matrices(counts.counts[None, :], tie_weight)),
        scale=scale,
        base=base,
    )[0]
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(counts.total, counts.counts / counts.total, size=rounds)
    boot = to_rating(
        fit_log_strengths(counts.win_matrices(resampled, tie_weight)), scale=scale, base=base
    )
    tail = 50.0 * (1.0 - confidence)
    lows, highs = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    ranks = ranks_from_intervals(lows.tolist(), highs.tolist())
    wins, losses, ties = _outcome_counts(counts)
    rows = [
        LeaderboardRow(
            model=m,
            rating=float(ratings[i]),
            ci_low=float(lows[i]),
            ci_high=float(highs[i]),
            rank=ranks[i],
            battles=int(wins[i] + losses[i] + ties[i]),
            wins=int(wins[i]),
            losses=int(losses[i]),
            ties=int(ties[i]),
        )
        for i, m in enumerate(counts.models)
    ]
    return sorted(rows, key=lambda r: (-r.rating, r.model))


def win_rate_matrix(
    votes: Iterable[Vote],
    *,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
    order: Sequence[str] | None = None,
) -> tuple[list[str], FloatArray]:
    """``matrix[i, j]`` = share of the battles between models i and j that i won, a tie counting
    ``tie_weight``; NaN where the two never met and on the diagonal. Models are sorted by name
    unless ``order`` gives them (for example a leaderboard's order)."""
    counts = aggregate(votes, both_bad=both_bad, include_flagged=include_flagged)
    models = list(counts.models) if order is None else list(order)
    unknown = set(counts.models) - set(models)
    if unknown:
        raise ValueError(f"order is missing models that have votes: {sorted(unknown)}")
    k = len(counts.models)
    wins = counts.win_matrices(counts.counts[None, :], tie_weight)[0]
    battles = np.zeros((k, k))
    np.add.at(battles, (counts.first, counts.second), counts.counts)
    battles += battles.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(battles > 0, wins / battles, np.nan)
    position = {m: i for i, m in enumerate(counts.models)}
    size = len(models)
    matrix = np.full((size, size), np.nan)
    for r, row_model in enumerate(models):
        for c, col_model in enumerate(models):
            if row_model in position and col_model in position:
                matrix[r, c] = rates[position[row_model], position[col_model]]
    return models, matrix
