"""Bradley-Terry strengths from pairwise votes.

Votes are aggregated into *cells*, one per (pair of models, outcome), so that everything after
aggregation costs O(cells), not O(votes). A fit is Newton's method on the log-likelihood of the
aggregated win matrix, run on a whole batch of win matrices at once (shape ``(R, K, K)``), which is
how the bootstrap fits all of its replicates together.

Model: P(i beats j) = p_i / (p_i + p_j) with p_i = exp(theta_i). A tie (and a "both bad" vote,
unless dropped) counts as ``tie_weight`` of a win for each side. The log-strengths are normalised
to mean 0 and reported on an Elo-like scale: ``rating = base + scale * log10(p_i)``, so a rating
difference of ``scale`` (400) means 10:1 odds. A tiny ridge penalty (``RIDGE``) keeps the estimate
finite when the maximum-likelihood estimate does not exist (a model that won or lost every battle,
or a comparison graph in several pieces); it changes a well-posed estimate by far less than a
rating point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

Winner = Literal["a", "b", "tie", "both_bad"]
BothBad = Literal["tie", "drop"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

RIDGE = 1e-6
"""L2 penalty on the log-strengths: negligible against a single vote's information."""

FIRST_WINS, SECOND_WINS, TIE = 0, 1, 2
_WINNERS: tuple[str, ...] = get_args(Winner)


@dataclass(frozen=True)
class Vote:
    """One pairwise judgement. ``flagged`` marks a vote to leave out by default (for example a
    blind answer that revealed its own model's name). ``participant`` is who cast it: the
    participant bootstrap (``leaderboard(..., bootstrap="participants")``) resamples a
    participant's votes together; a vote without one is a participant of its own."""

    model_a: str
    model_b: str
    winner: Winner
    flagged: bool = False
    participant: str | None = None

    def __post_init__(self) -> None:
        if self.winner not in _WINNERS:
            raise ValueError(f"winner must be one of {', '.join(_WINNERS)}, not {self.winner!r}")
        if self.model_a == self.model_b:
            raise ValueError(f"a vote needs two different models, got {self.model_a!r} twice")


@dataclass(frozen=True)
class PairCounts:
    """Votes aggregated per (pair, outcome) cell. Within a cell ``first < second`` (indices into
    ``models``, which is sorted) and ``outcome`` is FIRST_WINS, SECOND_WINS or TIE."""

    models: tuple[str, ...]
    first: IntArray
    second: IntArray
    outcome: IntArray
    counts: IntArray

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def win_matrices(self, counts: IntArray, tie_weight: float) -> FloatArray:
        """Win matrices ``W[r, i, j]`` (wins of i over j, ties weighted) for a batch of cell
        counts of shape ``(R, cells)``."""
        if not 0.0 <= tie_weight <= 1.0:
            raise ValueError(f"tie_weight must be between 0 and 1, got {tie_weight}")
        k = len(self.models)
        batch = counts.shape[0]
        wins = np.zeros((batch, k * k))
        forward = self.first * k + self.second
        backward = self.second * k + self.first
        # Within one outcome every pair occurs once, so the fancy-index updates never collide.
        for outcome, targets, weight in (
            (FIRST_WINS, forward, 1.0),
            (SECOND_WINS, backward, 1.0),
            (TIE, forward, tie_weight),
            (TIE, backward, tie_weight),
        ):
            mask = self.outcome == outcome
            wins[:, targets[mask]] += weight * counts[:, mask]
        return wins.reshape(batch, k, k)


def counted(
    votes: Iterable[Vote], *, both_bad: BothBad = "tie", include_flagged: bool = False
) -> list[Vote]:
    """The votes a fit counts: flagged votes only if asked, "both bad" votes unless
    ``both_bad="drop"``."""
    if both_bad not in ("tie", "drop"):
        raise ValueError(f"both_bad must be 'tie' or 'drop', not {both_bad!r}")
    return [
        v
        for v in votes
        if (include_flagged or not v.flagged)
        and not (v.winner == "both_bad" and both_bad == "drop")
    ]


def aggregate(
    votes: Iterable[Vote], *, both_bad: BothBad = "tie", include_flagged: bool = False
) -> PairCounts:
    """Count the votes per (pair, outcome) cell, leaving out flagged votes unless asked and
    "both bad" votes when ``both_bad="drop"``."""
    return aggregate_cells(counted(votes, both_bad=both_bad, include_flagged=include_flagged))[0]


def aggregate_cells(kept: Sequence[Vote]) -> tuple[PairCounts, IntArray]:
    """The cells of ``kept`` (every vote counted) and the cell of each vote (an index into
    the cells), which the participant bootstrap groups by participant."""
    models = tuple(sorted({v.model_a for v in kept} | {v.model_b for v in kept}))
    index = {m: i for i, m in enumerate(models)}
    k = len(models)
    code = {"a": 0, "b": 1, "tie": 2, "both_bad": 2}
    a = np.fromiter((index[v.model_a] for v in kept), dtype=np.int64, count=len(kept))
    b = np.fromiter((index[v.model_b] for v in kept), dtype=np.int64, count=len(kept))
    won = np.fromiter((code[v.winner] for v in kept), dtype=np.int64, count=len(kept))
    swap = a > b
    first = np.where(swap, b, a)
    second = np.where(swap, a, b)
    # Swapping the pair swaps which side won; a tie stays a tie.
    outcome = np.where(swap & (won < TIE), 1 - won, won)
    cells = np.bincount((first * k + second) * 3 + outcome, minlength=k * k * 3)
    present = np.flatnonzero(cells).astype(np.int64)
    pair, outcome_of_cell = np.divmod(present, 3)
    counts = PairCounts(
        models=models,
        first=pair // k,
        second=pair % k,
        outcome=outcome_of_cell,
        counts=cells[present].astype(np.int64),
    )
    cell_of_vote = np.searchsorted(present, (first * k + second) * 3 + outcome).astype(np.int64)
    return counts, cell_of_vote


def fit_log_strengths(
    wins: FloatArray, *, ridge: float = RIDGE, tol: float = 1e-9, max_iter: int = 200
) -> FloatArray:
    """Penalised maximum-likelihood log-strengths (mean 0) for a batch of win matrices
    ``(R, K, K)``, by Newton's method; each replicate stops when its largest step is below
    ``tol``. Returns an array of shape ``(R, K)``."""
    batch, k, _ = wins.shape
    theta = np.zeros((batch, k))
    games = wins + wins.transpose(0, 2, 1)
    won = wins.sum(axis=2)
    diag = np.arange(k)
    active = np.arange(batch)
    for _ in range(max_iter):
        if active.size == 0:
            break
        th = theta[active]
        n = games[active]
        p = 0.5 * (1.0 + np.tanh(0.5 * (th[:, :, None] - th[:, None, :])))  # stable sigmoid
        grad = won[active] - (n * p).sum(axis=2) - ridge * th
        hess = -(n * p * (1.0 - p))  # minus the Hessian: a weighted graph Laplacian + ridge
        hess[:, diag, diag] = -hess.sum(axis=2) + ridge
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        # The likelihood ignores a common shift; only the ridge pins the mean, and rounding in
        # the gradient's sum divided by the ridge would move it. Keep the mean at 0 instead.
        step -= step.mean(axis=1, keepdims=True)
        np.clip(step, -4.0, 4.0, out=step)  # a guard for the first steps on separable data
        th = th + step
        theta[active] = th - th.mean(axis=1, keepdims=True)
        active = active[np.abs(step).max(axis=1) >= tol]
    return theta


def to_rating(
    log_strength: FloatArray, *, scale: float = 400.0, base: float = 1000.0
) -> FloatArray:
    """Natural-log strengths to the Elo-like scale ``base + scale * log10(p)``."""
    return base + scale * log_strength / math.log(10.0)


def bradley_terry(
    votes: Iterable[Vote],
    *,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
    scale: float = 400.0,
    base: float = 1000.0,
) -> dict[str, float]:
    """Bradley-Terry ratings of every model that appears in the counted votes, on the Elo-like
    scale (mean rating ``base``)."""
    counts = aggregate(votes, both_bad=both_bad, include_flagged=include_flagged)
    if not counts.models:
        return {}
    wins = counts.win_matrices(counts.counts[None, :], tie_weight)
    ratings = to_rating(fit_log_strengths(wins), scale=scale, base=base)[0]
    return {m: float(r) for m, r in zip(counts.models, ratings, strict=True)}
