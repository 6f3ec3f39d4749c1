"""Bradley-Terry with covariates: the leaderboard with "style control" (Chatbot Arena's, for
length and Markdown; here for any per-answer features, such as tests passed).

Model. For a vote between answer A (model i) and answer B (model j) with features ``x_A`` and
``x_B`` (one value per feature k)::

    P(A beats B) = sigmoid(theta_i - theta_j + sum_k beta_k * z_k)

where ``z_k`` is the *normalised difference* of feature k between the two sides:

* a count feature (``ratio=True``: length, code lines, Markdown headers, ...) gives
  ``d_k = (x_A,k - x_B,k) / (x_A,k + x_B,k + 1)``, a relative difference in (-1, 1) (FastChat's
  ``preprocess_for_style``: a 2,000 against a 1,000 character answer is the same difference as
  200 against 100); any other feature (``ratio=False``: a 0/1 verdict) gives
  ``d_k = x_A,k - x_B,k``;
* a side whose feature is unknown (NaN: an answer never run against tests) gives ``d_k = 0``,
  so the vote says nothing about ``beta_k``;
* ``z_k = d_k / rms_k`` with ``rms_k = sqrt(mean(d_k^2))`` over the counted votes. FastChat
  standardises (subtracts the mean too); a mean subtracted from an antisymmetric difference is
  an intercept, a bias towards the side shown first, and makes the fit depend on which answer
  was labelled A. Divided by its root mean square, swapping A and B swaps the sign of every
  ``z`` and the vote means the same. The normalisation is computed once, from the data, and
  kept for every bootstrap replicate.

So ``beta_k`` is the change in the log-odds of winning per one root-mean-square of the feature's
normalised difference, all else (the two models, the other features) equal; ``theta`` are the
*controlled* strengths, reported on the leaderboard's scale (``base + scale * log10(e^theta)``,
mean ``base`` per group of models that met, centred like ``leaderboard``).

Ties and "both bad" as ``leaderboard``: a tie (and a "both bad" vote unless ``both_bad="drop"``)
counts as ``tie_weight`` of a win for each side, flagged votes are left out unless
``include_flagged``. The likelihood is then ``sum_v a_v log p_v + b_v log(1 - p_v)`` with
``(a_v, b_v)`` = (1, 0) for a win of A, (0, 1) for a win of B and ``(tie_weight, tie_weight)``
for a tie; with no features it is exactly ``bradley_terry``'s, and so is the estimate. The same
ridge (``RIDGE``) on theta and beta keeps every fit finite; Newton's method, batched over the
bootstrap replicates.

Intervals: percentile bootstrap (``rounds``, seeded) of votes or of participants
(``bootstrap``; see ``resampling``), each replicate refitted with the normalisation of the data.
Where the votes set no limit (``separation``: a model that won or lost every battle, ...) no
covariate can set one either (raising such a model's strength raises the likelihood of every
one of its votes whatever beta is), so the rows keep the leaderboard's warnings and groups; a
model outside its group's reference block gets no interval at all (both ends None, "unbounded on
both sides": its bootstrap would be the narrow, penalty-driven one ``leaderboard`` explains, and
the leaderboard's one-sided exact bound is not computed with covariates).

Interpretation. ``beta_k`` is an association, not an experiment: a positive ``tests_passed``
says that, between two answers of the same two models, voters chose the one that passed more
often than the ratings alone predict. Ties that do not depend on the answers (a share of voters
who call every battle a tie) pull the estimates towards 0, as they pull the ratings together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .bradley_terry import RIDGE, BothBad, FloatArray, IntArray, Vote, aggregate_cells, to_rating
from .leaderboard import LeaderboardRow, _centre, board_rows, outcome_matrices
from .resampling import Bootstrap, check_bootstrap, cluster_codes
from .separation import board_structure

MAX_BATCH_CELLS = 4_000_000
"""Replicates are fitted in batches of at most this many (replicate x vote) weights."""


@dataclass(frozen=True)
class Coefficient:
    """``beta`` of one feature (log-odds per ``rms`` of its normalised difference) with its
    bootstrap interval; all None, with a ``note``, for a feature that never differs."""

    name: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    rms: float
    note: str | None = None

    def to_dict(self) -> dict[str, float | str | None]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "rms": self.rms,
            "note": self.note,
        }


@dataclass(frozen=True)
class StyleControlFit:
    """The controlled leaderboard (rows as ``leaderboard``'s) and the features' coefficients."""

    rows: list[LeaderboardRow]
    coefficients: dict[str, Coefficient]
    votes: int
    bootstrap: Bootstrap


def normalise_differences(
    first: ArrayLike, second: ArrayLike, ratio: Sequence[bool]
) -> tuple[FloatArray, FloatArray]:
    """``(z, rms)``: the normalised differences ``(N, F)`` of the features of side A
    (``first``) and side B (``second``) and each feature's root mean square (see the module
    doc); a feature that never differs has rms 0 and z 0."""
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != len(ratio):
        raise ValueError("first and second need one row per vote and one column per feature")
    use_ratio = np.asarray(ratio, dtype=bool)
    diff = a - b
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = diff / (a + b + 1.0)
    diff = np.where(use_ratio[None, :], relative, diff)
    diff = np.where(np.isfinite(diff), diff, 0.0)
    rms = np.sqrt((diff**2).mean(axis=0)) if diff.shape[0] else np.zeros(diff.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(rms[None, :] > 0, diff / np.where(rms > 0, rms, 1.0)[None, :], 0.0)
    return z, rms


def fit_controlled(
    design: FloatArray,
    a_mass: FloatArray,
    b_mass: FloatArray,
    weights: FloatArray,
    k: int,
    *,
    ridge: float = RIDGE,
    tol: float = 1e-9,
    max_iter: int = 200,
) -> FloatArray:
    """Penalised maximum likelihood of ``sigmoid(design @ params)`` for a batch of vote
    weights ``(R, N)``; ``design`` is ``(N, P)``, its first ``k`` columns the models'
    (+1 for side A, -1 for side B), whose parameters are kept at mean 0. Newton's method, each
    replicate stopping when its largest step is below ``tol``. Returns ``(R, P)``."""
    batch, n = weights.shape
    p = design.shape[1]
    params = np.zeros((batch, p))
    eye = ridge * np.eye(p)
    mass = a_mass + b_mass
    active = np.arange(batch)
    chunk = max(1, MAX_BATCH_CELLS // max(1, p * p))
    for _ in range(max_iter):
        if active.size == 0:
            break
        w = weights[active]
        eta = params[active] @ design.T
        prob = 0.5 * (1.0 + np.tanh(0.5 * eta))  # stable sigmoid
        grad = (w * (a_mass - mass * prob)) @ design - ridge * params[active]
        curvature = w * mass * prob * (1.0 - prob)
        hess = np.zeros((active.size, p * p))
        for lo in range(0, n, chunk):
            rows = design[lo : lo + chunk]
            outer = (rows[:, :, None] * rows[:, None, :]).reshape(rows.shape[0], p * p)
            hess += curvature[:, lo : lo + chunk] @ outer
        hess = hess.reshape(active.size, p, p) + eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        step[:, :k] -= step[:, :k].mean(axis=1, keepdims=True)
        np.clip(step, -4.0, 4.0, out=step)
        updated = params[active] + step
        updated[:, :k] -= updated[:, :k].mean(axis=1, keepdims=True)
        params[active] = updated
        active = active[np.abs(step).max(axis=1) >= tol]
    return params


def _weights(
    n: int, clusters: IntArray | None, rounds: int, rng: np.random.Generator
) -> FloatArray:
    if clusters is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=rounds).astype(float)
    size = int(clusters.max()) + 1
    drawn = rng.multinomial(size, np.full(size, 1.0 / size), size=rounds)
    return drawn[:, clusters].astype(float)


def style_control(
    votes: Sequence[Vote],
    first: ArrayLike,
    second: ArrayLike,
    names: Sequence[str],
    *,
    ratio: Sequence[bool] | None = None,
    rounds: int = 1000,
    seed: int = 0,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
    scale: float = 400.0,
    base: float = 1000.0,
    confidence: float = 0.95,
    bootstrap: Bootstrap = "votes",
) -> StyleControlFit:
    """Controlled ratings and feature coefficients with bootstrap intervals (module doc).

    ``first[v]`` and ``second[v]`` are the features (one per name, NaN unknown) of vote v's
    side A and side B; ``ratio[k]`` says whether feature k is a count (relative difference,
    the default) or not. With no features the rows are ``leaderboard``'s ratings."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1 (the intervals come from the bootstrap)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    if not 0.0 <= tie_weight <= 1.0:
        raise ValueError(f"tie_weight must be between 0 and 1, got {tie_weight}")
    if both_bad not in ("tie", "drop"):
        raise ValueError(f"both_bad must be 'tie' or 'drop', not {both_bad!r}")
    bootstrap = check_bootstrap(bootstrap)
    f = len(names)
    a_side = np.asarray(first, dtype=float).reshape(len(votes), f)
    b_side = np.asarray(second, dtype=float).reshape(len(votes), f)
    keep = np.array(
        [
            (include_flagged or not v.flagged)
            and not (v.winner == "both_bad" and both_bad == "drop")
            for v in votes
        ],
        dtype=bool,
    )
    kept = [v for v, k in zip(votes, keep.tolist(), strict=True) if k]
    counts, _ = aggregate_cells(kept)
    if not kept:
        return StyleControlFit([], {}, 0, bootstrap)
    z, rms = normalise_differences(a_side[keep], b_side[keep], ratio or [True] * f)
    varies = rms > 0
    models = counts.models
    index = {m: i for i, m in enumerate(models)}
    k, n = len(models), len(kept)
    sides = np.zeros((n, k))
    rows_idx = np.arange(n)
    sides[rows_idx, [index[v.model_a] for v in kept]] = 1.0
    sides[rows_idx, [index[v.model_b] for v in kept]] = -1.0
    design = np.hstack([sides, z[:, varies]])
    a_mass = np.array(
        [1.0 if v.winner == "a" else 0.0 if v.winner == "b" else tie_weight for v in kept]
    )
    b_mass = np.array(
        [1.0 if v.winner == "b" else 0.0 if v.winner == "a" else tie_weight for v in kept]
    )

    decisive, tied = outcome_matrices(counts)
    structure = board_structure(models, decisive, tied, tie_weight=tie_weight)
    point = fit_controlled(design, a_mass, b_mass, np.ones((1, n)), k)
    rng = np.random.default_rng(seed)
    clusters = None if bootstrap == "votes" else cluster_codes([v.participant for v in kept])
    per_batch = max(1, MAX_BATCH_CELLS // n)
    boots = []
    for start in range(0, rounds, per_batch):
        weights = _weights(n, clusters, min(per_batch, rounds - start), rng)
        boots.append(fit_controlled(design, a_mass, b_mass, weights, k))
    boot = np.vstack(boots)

    tail = 50.0 * (1.0 - confidence)
    ratings = to_rating(_centre(point[:, :k], structure), scale=scale, base=base)[0]
    boot_ratings = to_rating(_centre(boot[:, :k], structure), scale=scale, base=base)
    ends = np.percentile(boot_ratings, [tail, 100.0 - tail], axis=0)
    lows: list[float | None] = [
        None if structure.open_low[i] or not structure.centre[i] else float(ends[0, i])
        for i in range(k)
    ]
    highs: list[float | None] = [
        None if structure.open_high[i] or not structure.centre[i] else float(ends[1, i])
        for i in range(k)
    ]
    rows = board_rows(counts, structure, ratings, lows, highs, bootstrap)
    coefficients: dict[str, Coefficient] = {}
    column = k
    for name, spread, moves in zip(names, rms.tolist(), varies.tolist(), strict=True):
        if not moves:
            note = "the two sides never differ in this feature, so it has no coefficient"
            coefficients[name] = Coefficient(name, None, None, None, 0.0, note)
            continue
        low, high = np.percentile(boot[:, column], [tail, 100.0 - tail])
        coefficients[name] = Coefficient(
            name, float(point[0, column]), float(low), float(high), float(spread)
        )
        column += 1
    return StyleControlFit(
        rows=sorted(rows, key=lambda r: (r.group, -r.rating, r.model)),
        coefficients=coefficients,
        votes=n,
        bootstrap=bootstrap,
    )


def logit_points(beta: float, *, scale: float = 400.0) -> float:
    """A log-odds coefficient in rating points (``scale`` points = 10:1 odds)."""
    return scale * beta / math.log(10.0)


__all__ = [
    "Coefficient",
    "StyleControlFit",
    "fit_controlled",
    "logit_points",
    "normalise_differences",
    "style_control",
]
