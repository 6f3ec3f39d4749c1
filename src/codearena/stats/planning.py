"""How many votes a leaderboard needs for intervals of a given width, by simulation.

Assumptions (each a parameter, all reported with the plan):

* ``models`` models with true ratings drawn from a normal distribution with standard deviation
  ``rating_sd`` rating points (on the leaderboard's scale, ``scale`` points = 10:1 odds), drawn
  again for every simulated study;
* uniform pairing: every vote is between a pair of models drawn uniformly from all pairs;
* a share ``tie_share`` of the votes are ties (a tie counts half a win for each side, the
  leaderboard's default), the others follow Bradley-Terry;
* votes are independent (one vote per participant, or participants who do not differ): the
  intervals are the leaderboard's percentile bootstrap of the votes (``rounds`` resamples,
  ``confidence``). Votes clustered by participant need more (``bootstrap="participants"``).

The width of a simulated study is the median over its models of ``ci_high - ci_low``; the width
at a number of votes is the median of ``replicates`` simulated studies (by default 20, fewer
for many models: ``default_replicates``). A study of N votes is
simulated as multinomial counts over the (pair, outcome) cells, so its cost does not depend on
N. The search: a pilot at ``20 K (K - 1)`` votes, a prediction from ``width ~ 1 / sqrt(N)``, a
grid of three counts around it (half an octave either side), a log-log line through the grid
solved for the target, and checks at the answer (raised until its simulated width is at most the
target, at most three times). ``votes_needed`` is that count; ``simulated`` every point
computed. Everything is drawn from one seeded generator.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bradley_terry import FIRST_WINS, SECOND_WINS, TIE, PairCounts, fit_log_strengths, to_rating

MAX_VOTES = 1_000_000_000
MAX_MODELS = 50


@dataclass(frozen=True)
class PlanPoint:
    votes: int
    median_ci_width: float

    def to_dict(self) -> dict[str, float | int]:
        return {"votes": self.votes, "median_ci_width": self.median_ci_width}


@dataclass(frozen=True)
class Plan:
    models: int
    target_ci_width: float
    votes_needed: int
    simulated: list[PlanPoint]
    assumptions: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "target_ci_width": self.target_ci_width,
            "votes_needed": self.votes_needed,
            "simulated": [p.to_dict() for p in self.simulated],
            "assumptions": self.assumptions,
        }


def _study_counts(
    models: int,
    votes: int,
    rating_sd: float,
    tie_share: float,
    scale: float,
    rng: np.random.Generator,
) -> PairCounts:
    theta = rng.normal(0.0, rating_sd, models) * math.log(10.0) / scale
    first, second = np.triu_indices(models, k=1)
    per_pair = rng.multinomial(votes, np.full(first.size, 1.0 / first.size))
    win = 1.0 / (1.0 + np.exp(theta[second] - theta[first]))
    probs = np.column_stack(
        [(1 - tie_share) * win, (1 - tie_share) * (1 - win), np.full(win.size, tie_share)]
    )
    outcomes = rng.multinomial(per_pair, probs)  # (pairs, 3)
    pair, outcome = np.nonzero(outcomes)
    return PairCounts(
        models=tuple(f"m{i}" for i in range(models)),
        first=first[pair].astype(np.int64),
        second=second[pair].astype(np.int64),
        outcome=np.array([FIRST_WINS, SECOND_WINS, TIE])[outcome].astype(np.int64),
        counts=outcomes[pair, outcome].astype(np.int64),
    )


def simulated_width(
    models: int,
    votes: int,
    *,
    rating_sd: float = 100.0,
    tie_share: float = 0.1,
    replicates: int = 20,
    rounds: int = 200,
    confidence: float = 0.95,
    scale: float = 400.0,
    rng: np.random.Generator | None = None,
    seed: int = 0,
) -> float:
    """The median interval width (rating points) of ``replicates`` simulated studies of
    ``votes`` votes among ``models`` models (see the module doc for the assumptions)."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    tail = 50.0 * (1.0 - confidence)
    widths = []
    for _ in range(replicates):
        counts = _study_counts(models, votes, rating_sd, tie_share, scale, rng)
        drawn = rng.multinomial(counts.total, counts.counts / counts.total, size=rounds)
        boot = to_rating(fit_log_strengths(counts.win_matrices(drawn, 0.5)), scale=scale)
        low, high = np.percentile(boot, [tail, 100.0 - tail], axis=0)
        widths.append(float(np.median(high - low)))
    return float(np.median(widths))


def default_replicates(models: int) -> int:
    """Simulated studies per point: 20 for few models, fewer for many (each study's median
    is then over more models, and a fit costs about K^3), at least 4."""
    return max(4, min(20, 200 // models))


def plan_votes(
    models: int,
    target_ci_width: float,
    *,
    rating_sd: float = 100.0,
    tie_share: float = 0.1,
    replicates: int | None = None,
    rounds: int = 200,
    confidence: float = 0.95,
    scale: float = 400.0,
    seed: int = 0,
) -> Plan:
    """The number of votes at which the simulated median interval width reaches
    ``target_ci_width`` rating points (module doc)."""
    if not 2 <= models <= MAX_MODELS:
        raise ValueError(f"models must be between 2 and {MAX_MODELS}, got {models}")
    if not target_ci_width > 0:
        raise ValueError("the target interval width must be positive")
    if not 0.0 <= tie_share < 1.0:
        raise ValueError("tie_share must be at least 0 and below 1")
    if rating_sd < 0:
        raise ValueError("rating_sd must not be negative")
    if replicates is None:
        replicates = default_replicates(models)
    rng = np.random.default_rng(seed)
    points: dict[int, float] = {}

    def width(votes: int) -> float:
        if votes not in points:
            points[votes] = simulated_width(
                models,
                votes,
                rating_sd=rating_sd,
                tie_share=tie_share,
                replicates=replicates,
                rounds=rounds,
                confidence=confidence,
                scale=scale,
                rng=rng,
            )
        return points[votes]

    def bounded(votes: float) -> int:
        return int(min(max(math.ceil(votes), models), MAX_VOTES))

    pilot = bounded(20 * models * (models - 1))
    guess = bounded(pilot * (width(pilot) / target_ci_width) ** 2)
    grid = sorted({bounded(guess * 2.0 ** (e / 2.0)) for e in (-1, 0, 1)})
    logs = np.log([[v, width(v)] for v in grid])
    if len(grid) > 1 and np.ptp(logs[:, 0]) > 0:
        slope, intercept = np.polyfit(logs[:, 0], logs[:, 1], 1)
        slope = min(slope, -0.1)  # widths fall with votes; noise must not flip the line
    else:
        slope, intercept = -0.5, logs[0, 1] + 0.5 * logs[0, 0]
    needed = bounded(math.exp((math.log(target_ci_width) - intercept) / slope))
    for _ in range(3):
        reached = width(needed)
        if reached <= target_ci_width or needed >= MAX_VOTES:
            break
        needed = bounded(needed * (reached / target_ci_width) ** 2 * 1.02)
    if width(needed) > target_ci_width and needed >= MAX_VOTES:
        raise ValueError(f"the target width needs more than {MAX_VOTES:,} votes")
    assumptions = {
        "pairing": "uniform",
        "rating_sd": rating_sd,
        "tie_share": tie_share,
        "tie_weight": 0.5,
        "bootstrap": "votes",
        "rounds": rounds,
        "replicates": replicates,
        "confidence": confidence,
        "scale": scale,
        "width": "median over models of ci_high - ci_low, median over replicates",
        "seed": seed,
    }
    return Plan(
        models=models,
        target_ci_width=target_ci_width,
        votes_needed=needed,
        simulated=[PlanPoint(v, w) for v, w in sorted(points.items())],
        assumptions=assumptions,
    )


__all__ = [
    "MAX_MODELS",
    "MAX_VOTES",
    "Plan",
    "PlanPoint",
    "default_replicates",
    "plan_votes",
    "simulated_width",
]


PROJECTION_MIN_VOTES = 10
"""Fewer votes than this give no projection."""


def project_votes(
    widths: list[float], votes: int, targets: tuple[float, ...] = (100.0, 50.0)
) -> dict[str, Any]:
    """A running study's projection: with the median of its models' finite interval widths
    ``w`` after ``votes`` votes, and widths shrinking as ``1 / sqrt(N)`` (the planner's own
    rule), the votes a median width of each target needs: ``ceil(votes * (w / target)^2)``
    (``votes`` itself when the width is already there). None values and a ``note`` when there
    are too few votes or intervals to project from."""
    finite = sorted(w for w in widths if math.isfinite(w) and w > 0)
    if votes < PROJECTION_MIN_VOTES or len(finite) < 2:
        return {
            "votes": votes,
            "median_width": None,
            "targets": [{"width": t, "votes_needed": None} for t in targets],
            "note": f"too few votes or intervals to project from (at least {PROJECTION_MIN_VOTES}"
            " votes and two models with a finite interval)",
        }
    width = statistics.median(finite)
    return {
        "votes": votes,
        "median_width": width,
        "targets": [
            {"width": t, "votes_needed": max(votes, math.ceil(votes * (width / t) ** 2))}
            for t in targets
        ],
        "note": None,
    }
