"""The arena leaderboard: Bradley-Terry ratings with seeded bootstrap intervals (FastChat style).

The bootstrap resamples the counted votes with replacement (``bootstrap="votes"``), or the
participants who cast them, each with all of its votes (``bootstrap="participants"``, the
cluster bootstrap of ``resampling``). Resampling N votes is the same as drawing multinomial
counts over the distinct (pair, outcome) cells with the observed frequencies, and resampling
participants the same as drawing multinomial counts over their distinct count vectors, so each
round costs O(cells) (O(patterns x cells) for participants) and all rounds are fitted as one
batch.

Where the votes cannot give finite ratings (``separation``: groups of models that never met, a
model that won or lost every battle, blocks of models that beat all the others), the board says
so in each row's ``warnings`` and does not pretend to a precision it lacks:

* each group of models that met is centred on its own (mean ``base``) and ranked on its own;
* in a group whose win graph is not strongly connected, the group is centred on its reference
  block only, so the penalty-driven rating of a model that won every battle no longer drags the
  others' ratings down;
* the interval of a model outside the reference block is *open* (None, shown as unbounded) on
  the side the votes do not limit. Its bootstrap interval would be narrow and wrong: resampling
  cannot produce the loss that such a model never had, so every replicate puts it at the same
  penalty-driven distance. The other end is the one-sided exact bound of its block's record
  against the reference models it battled, taken at their own interval ends (conservative): the
  rating at which that record (all won, or all lost) had probability ``(1 - confidence) / 2``,
  the same tail as the other intervals; it is open too when the block never battled the
  reference directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .bradley_terry import (
    FIRST_WINS,
    SECOND_WINS,
    TIE,
    BothBad,
    FloatArray,
    PairCounts,
    Vote,
    aggregate,
    aggregate_cells,
    counted,
    fit_log_strengths,
    to_rating,
)
from .resampling import Bootstrap, check_bootstrap, resample_cells
from .separation import BoardStructure, board_structure


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's line: rating and its interval on the Elo-like scale, rank, and vote counts
    (``battles = wins + losses + ties``; "both bad" votes count as ties unless dropped).

    ``ci_low`` / ``ci_high`` are None where the votes set no limit (``ci_note`` says which side,
    ``warnings`` why); ``group`` numbers the groups of models that met (1 = the largest), and the
    rank counts only models of the same group. ``bootstrap`` says what the interval resampled:
    single ``votes`` or whole ``participants``."""

    model: str
    rating: float
    ci_low: float | None
    ci_high: float | None
    rank: int
    battles: int
    wins: int
    losses: int
    ties: int
    warnings: tuple[str, ...] = ()
    ci_note: str | None = None
    group: int = 1
    bootstrap: Bootstrap = "votes"

    def to_dict(self) -> dict[str, str | float | int | list[str] | None]:
        return {
            "model": self.model,
            "rating": self.rating,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "rank": self.rank,
            "battles": self.battles,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "warnings": list(self.warnings),
            "ci_note": self.ci_note,
            "group": self.group,
            "bootstrap": self.bootstrap,
        }


def ranks_from_intervals(lows: Sequence[float], highs: Sequence[float]) -> list[int]:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound."""
    low = np.asarray(lows, dtype=float)
    return [1 + int(np.sum(low > high)) for high in highs]


def outcome_matrices(counts: PairCounts) -> tuple[FloatArray, FloatArray]:
    """``decisive[i, j]`` = votes where i beat j; ``ties[i, j]`` = ties between i and j."""
    k = len(counts.models)
    decisive, ties = np.zeros((k, k)), np.zeros((k, k))
    for outcome, rows, cols in (
        (FIRST_WINS, counts.first, counts.second),
        (SECOND_WINS, counts.second, counts.first),
    ):
        mask = counts.outcome == outcome
        np.add.at(decisive, (rows[mask], cols[mask]), counts.counts[mask])
    mask = counts.outcome == TIE
    np.add.at(ties, (counts.first[mask], counts.second[mask]), counts.counts[mask])
    return decisive, ties + ties.T


def _centre(theta: FloatArray, structure: BoardStructure) -> FloatArray:
    """Log-strengths shifted so that each group's centre models have mean 0 (every row)."""
    group = np.asarray(structure.group)
    centre = np.asarray(structure.centre)
    out = theta.copy()
    for g in np.unique(group):
        members = group == g
        out[:, members] -= theta[:, members & centre].mean(axis=1, keepdims=True)
    return out


def _log_sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(-np.logaddexp(0.0, -x), dtype=float)


def _record_shift(margins: FloatArray, weights: FloatArray, tail: float, scale: float) -> float:
    """The shift ``o`` (rating points) at which winning every battle whose margin is
    ``margins + o`` had probability ``tail``: sum(w * log sigmoid((m + o) * ln10 / scale))
    = log(tail). The left side increases with ``o``."""
    c = math.log(10.0) / scale

    def excess(shift: float) -> float:
        return float((weights * _log_sigmoid((margins + shift) * c)).sum() - math.log(tail))

    low, high = -float(np.abs(margins).max()) - scale, float(np.abs(margins).max()) + scale
    while excess(low) > 0:
        low -= 2 * (high - low)
    while excess(high) < 0:
        high += 2 * (high - low)
    from scipy.optimize import brentq  # type: ignore[import-untyped, unused-ignore]

    return float(brentq(excess, low, high, xtol=1e-6))


def _finite_ends(
    structure: BoardStructure,
    wins: FloatArray,
    ratings: FloatArray,
    lows: list[float | None],
    highs: list[float | None],
    tail: float,
    scale: float,
) -> None:
    """The finite end of each open interval outside a reference block (see the module doc)."""
    k = len(structure.models)
    blocks: dict[int, list[int]] = {}
    for i in range(k):
        if not structure.centre[i]:
            blocks.setdefault(structure.block[i], []).append(i)
    for block in blocks.values():
        first = block[0]
        low, high = structure.open_low[first], structure.open_high[first]
        reference = [
            j
            for j in range(k)
            if structure.centre[j] and structure.group[j] == structure.group[first]
        ]
        for i in block:
            lows[i], highs[i] = None, None
        if low == high:  # open on both sides
            continue
        pairs = [(i, j) for i in block for j in reference]
        if high:  # the block beat the reference: how low can it go?
            weights = np.array([wins[i, j] for i, j in pairs])
            ends = np.array([lows[j] if lows[j] is not None else -math.inf for _, j in pairs])
            margins = np.array([ratings[i] for i, _ in pairs]) - ends
        else:  # the block lost to the reference: how high can it go?
            weights = np.array([wins[j, i] for i, j in pairs])
            ends = np.array([highs[j] if highs[j] is not None else math.inf for _, j in pairs])
            margins = ends - np.array([ratings[i] for i, _ in pairs])
        keep = weights > 0
        shift = _record_shift(margins[keep], weights[keep], tail, scale)
        for i in block:
            if high:
                lows[i] = float(ratings[i] + shift)
            else:
                highs[i] = float(ratings[i] - shift)


def _note(low: float | None, high: float | None) -> str | None:
    if low is None and high is None:
        return "unbounded on both sides"
    if high is None:
        return "unbounded above"
    if low is None:
        return "unbounded below"
    return None


def _ranks(
    structure: BoardStructure, lows: list[float | None], highs: list[float | None]
) -> list[int]:
    """``ranks_from_intervals`` within each group, an open end counting as infinite."""
    low = [-math.inf if v is None else v for v in lows]
    high = [math.inf if v is None else v for v in highs]
    ranks = [0] * len(low)
    for g in set(structure.group):
        idx = [i for i, gi in enumerate(structure.group) if gi == g]
        for i, r in zip(
            idx, ranks_from_intervals([low[i] for i in idx], [high[i] for i in idx]), strict=True
        ):
            ranks[i] = r
    return ranks


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
    bootstrap: Bootstrap = "votes",
) -> list[LeaderboardRow]:
    """Ratings, percentile bootstrap intervals (``rounds`` resamples, seeded), ranks, counts and
    warnings, sorted by rating (highest first, then by name; group by group when some models
    never met). Flagged votes are left out unless ``include_flagged``. Where the votes give no
    finite estimate (see the module doc) an interval end is None and the row's ``warnings`` say
    why, from the counts and the names.

    ``bootstrap="votes"`` resamples single votes; ``"participants"`` resamples the votes'
    ``participant``s, each with all of its votes (``resampling``; a vote without a participant
    is one of its own), so that votes of one person count as one unit of evidence."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1 (the intervals come from the bootstrap)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    bootstrap = check_bootstrap(bootstrap)
    kept = counted(votes, both_bad=both_bad, include_flagged=include_flagged)
    counts, cells = aggregate_cells(kept)
    if not counts.models:
        return []
    win_mass = counts.win_matrices(counts.counts[None, :], tie_weight)
    decisive, tied = outcome_matrices(counts)
    structure = board_structure(counts.models, decisive, tied, tie_weight=tie_weight)
    ratings = to_rating(_centre(fit_log_strengths(win_mass), structure), scale=scale, base=base)[0]
    rng = np.random.default_rng(seed)
    clusters = None if bootstrap == "votes" else [v.participant for v in kept]
    resampled = resample_cells(counts.counts, cells, clusters, rounds, rng)
    boot = to_rating(
        _centre(fit_log_strengths(counts.win_matrices(resampled, tie_weight)), structure),
        scale=scale,
        base=base,
    )
    tail = 50.0 * (1.0 - confidence)
    percentiles = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    lows: list[float | None] = [float(v) for v in percentiles[0]]
    highs: list[float | None] = [float(v) for v in percentiles[1]]
    _finite_ends(structure, win_mass[0], ratings, lows, highs, tail / 100.0, scale)
    for i in range(len(counts.models)):
        if structure.open_low[i]:
            lows[i] = None
        if structure.open_high[i]:
            highs[i] = None
    rows = board_rows(counts, structure, ratings, lows, highs, bootstrap)
    return sorted(rows, key=lambda r: (r.group, -r.rating, r.model))


def board_rows(
    counts: PairCounts,
    structure: BoardStructure,
    ratings: FloatArray,
    lows: list[float | None],
    highs: list[float | None],
    bootstrap: Bootstrap,
) -> list[LeaderboardRow]:
    """One row per model of ``counts`` (in its order): the rating and interval ends given, the
    rank within its group, the vote counts, warnings and group from ``structure``."""
    ranks = _ranks(structure, lows, highs)
    wins, losses, ties = _outcome_counts(counts)
    return [
        LeaderboardRow(
            model=m,
            rating=float(ratings[i]),
            ci_low=lows[i],
            ci_high=highs[i],
            rank=ranks[i],
            battles=int(wins[i] + losses[i] + ties[i]),
            wins=int(wins[i]),
            losses=int(losses[i]),
            ties=int(ties[i]),
            warnings=structure.warnings[i],
            ci_note=_note(lows[i], highs[i]),
            group=structure.group[i],
            bootstrap=bootstrap,
        )
        for i, m in enumerate(counts.models)
    ]


def board_warnings(
    votes: Iterable[Vote],
    *,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
) -> dict[str, tuple[str, ...]]:
    """``{model: warnings}`` of the board ``leaderboard`` would build from the same votes
    (disconnection and separation, see ``separation``); an empty tuple when all is well."""
    counts = aggregate(votes, both_bad=both_bad, include_flagged=include_flagged)
    decisive, tied = outcome_matrices(counts)
    structure = board_structure(counts.models, decisive, tied, tie_weight=tie_weight)
    return dict(zip(structure.models, structure.warnings, strict=True))


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
