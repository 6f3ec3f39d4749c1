"""Which pair of models a blind battle shows next: uniform or adaptive pairing.

``uniform``: the pair with the fewest battles so far, ties drawn at random (every pair gets
about the same number of votes).

``adaptive``: the pair whose next vote is expected to shrink the intervals most. With the
current Bradley-Terry log-strengths ``theta`` (penalised fit of the votes so far, ties as half a
win, after ``PSEUDO_TIES`` ties are added to every pair), a vote between i and j carries the information ``q_ij = p_ij * (1 - p_ij)`` with
``p_ij = sigmoid(theta_i - theta_j)`` kept within ``[P_MIN, 1 - P_MIN]``. The information matrix of all the votes is the weighted
graph Laplacian ``L = sum over votes of q_ij * u u^T`` with ``u = e_i - e_j``, plus a weak prior
``PRIOR * (I - J / K)`` (as if ``PRIOR / K`` of a vote joined every pair), and the covariance of the
centred log-strengths is ``S = pinv(L)``. One more vote on (i, j) lowers the total variance
``trace(S)`` by ``q_ij * |S u|^2 / (1 + q_ij * u^T S u)`` (Sherman-Morrison); the pair chosen is
the one with the largest reduction (ties drawn at random). This is an A-optimal sequential
design: it sends votes to models with few or lopsided battles (wide intervals), prefers close
pairs (``p`` near 1/2) to foregone ones, and joins parts of the comparison graph that are only
loosely connected (which widens every interval on a centred scale).

Every pair stays possible: with probability ``EXPLORE`` the pair is drawn uniformly from all
pairs instead, so no pair is starved and the estimate cannot lock into its own early errors.
Sides (which model is A) are always random.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import numpy as np

from .bradley_terry import Vote, fit_log_strengths

Pairing = Literal["uniform", "adaptive"]
PAIRINGS: tuple[Pairing, ...] = ("uniform", "adaptive")
EXPLORE = 0.1
"""Share of adaptive choices drawn uniformly from all pairs."""
PSEUDO_TIES = 0.5
"""Ties added to every pair before the strengths are fitted for pairing: a model that lost all
of its few battles gets a large but finite gap, not an infinite one."""
P_MIN = 0.02
"""Win probabilities used for pairing stay within [P_MIN, 1 - P_MIN], so a pair the early votes
call foregone still carries information: otherwise a group of models that lost every battle
against the rest would never meet it again, and its interval would stay unbounded."""
PRIOR = 0.25
"""The prior's weight: a quarter of a vote's information (one vote at p = 1/2 carries 1/4),
spread over all pairs."""


def _counts(models: Sequence[str], votes: Sequence[Vote]) -> tuple[np.ndarray, np.ndarray]:
    """Battles per pair ``n[i, j]`` and the win matrix ``w[i, j]`` (ties half a win each)."""
    index = {m: i for i, m in enumerate(models)}
    k = len(models)
    n = np.zeros((k, k))
    w = np.zeros((k, k))
    for vote in votes:
        i, j = index.get(vote.model_a), index.get(vote.model_b)
        if i is None or j is None:
            continue  # a model no longer in the study
        n[i, j] += 1
        n[j, i] += 1
        if vote.winner == "a":
            w[i, j] += 1
        elif vote.winner == "b":
            w[j, i] += 1
        else:
            w[i, j] += 0.5
            w[j, i] += 0.5
    return n, w


def pair_scores(models: Sequence[str], votes: Sequence[Vote]) -> dict[tuple[str, str], float]:
    """The adaptive score of every pair (``models`` order within a pair): the expected drop
    of the total variance of the log-strengths from one more vote (see the module doc)."""
    n, w = _counts(models, votes)
    k = len(models)
    shrunk = w + PSEUDO_TIES * 0.5 * (1.0 - np.eye(k))
    theta = fit_log_strengths(shrunk[None, :, :])[0]
    p = np.clip(1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :]))), P_MIN, 1.0 - P_MIN)
    q = p * (1.0 - p)
    laplacian = -(n * q)
    laplacian[np.diag_indices(k)] = (n * q).sum(axis=1)
    laplacian += PRIOR * (np.eye(k) - np.full((k, k), 1.0 / k))
    cov = np.linalg.pinv(laplacian)
    scores = {}
    for i, j in combinations(range(k), 2):
        su = cov[:, i] - cov[:, j]
        spread = su[i] - su[j]
        scores[(models[i], models[j])] = float(q[i, j] * su @ su / (1.0 + q[i, j] * spread))
    return scores


def choose_pair(
    models: Sequence[str],
    votes: Sequence[Vote],
    rng: np.random.Generator,
    pairing: Pairing = "uniform",
) -> list[str]:
    """The two models of the next battle, in random sides (see the module doc)."""
    if len(models) < 2:
        raise ValueError("a battle needs at least two models")
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, not {pairing!r}")
    pairs = list(combinations(models, 2))
    if pairing == "adaptive" and rng.random() >= EXPLORE:
        scores = pair_scores(models, votes)
        best = max(scores.values())
        candidates = [p for p in pairs if scores[p] >= best * (1 - 1e-9)]
    else:
        n, _ = _counts(models, votes)
        index = {m: i for i, m in enumerate(models)}
        battles = {p: n[index[p[0]], index[p[1]]] for p in pairs}
        if pairing == "uniform":
            fewest = min(battles.values())
            candidates = [p for p in pairs if battles[p] == fewest]
        else:
            candidates = pairs
    chosen = list(candidates[int(rng.integers(len(candidates)))])
    if rng.random() < 0.5:
        chosen.reverse()
    return chosen
