"""Leaderboard speed: codearena's batched bootstrap against a naive per-round fit, side by side.

Votes are simulated (seeded) from known Bradley-Terry strengths, with ties and "both bad" votes.
First the full-size leaderboard is timed against the target; then, on a smaller size, the same
bootstrap is run the naive way (resample the votes, fit each round with ``choix``) and the two
are compared for time and for the intervals they give.

    python bench/leaderboard_speed.py [--votes 100000] [--models 20] [--rounds 1000]
                                      [--naive-votes 10000] [--naive-rounds 100]

Target: 100,000 votes over 20 models with 1000 bootstrap rounds in under 2 s (2-core machine).
Needs ``choix`` (a test dependency) for the naive side.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import choix
import numpy as np

from codearena.stats import Vote, leaderboard

TARGET_S = 2.0
WINNER_CODES = ("a", "b", "tie", "both_bad")


def simulate(
    n_votes: int, n_models: int, seed: int, ties: bool = True
) -> tuple[list[Vote], dict[str, float]]:
    """Votes from known strengths (log-strength ~ N(0, 0.8)); 10% ties and 3% both bad unless
    ``ties`` is false."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.8, size=n_models)
    names = [f"model-{i:02d}" for i in range(n_models)]
    a = rng.integers(0, n_models, size=n_votes)
    b = (a + rng.integers(1, n_models, size=n_votes)) % n_models
    a_wins = rng.random(n_votes) < 1.0 / (1.0 + np.exp(theta[b] - theta[a]))
    kind = rng.random(n_votes) if ties else np.ones(n_votes)
    code = np.where(kind < 0.10, 2, np.where(kind < 0.13, 3, np.where(a_wins, 0, 1)))
    votes = [
        Vote(names[i], names[j], WINNER_CODES[c])  # type: ignore[arg-type]
        for i, j, c in zip(a.tolist(), b.tolist(), code.tolist(), strict=True)
    ]
    truth = 1000.0 + 400.0 * (theta - theta.mean()) / math.log(10.0)
    return votes, dict(zip(names, truth.tolist(), strict=True))


def naive_leaderboard(votes: list[Vote], rounds: int, seed: int) -> dict[str, tuple[float, float]]:
    """The textbook way: resample the votes and fit each round separately with choix.
    Ties and both-bad count half a win each way (every decisive vote doubled, each tie one win
    each way: the same likelihood up to a factor of 2)."""
    models = sorted({v.model_a for v in votes} | {v.model_b for v in votes})
    index = {m: i for i, m in enumerate(models)}
    rows: list[list[tuple[int, int]]] = []
    for v in votes:
        a, b = index[v.model_a], index[v.model_b]
        if v.winner == "a":
            rows.append([(a, b), (a, b)])
        elif v.winner == "b":
            rows.append([(b, a), (b, a)])
        else:
            rows.append([(a, b), (b, a)])
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(rounds):
        picks = rng.integers(0, len(rows), size=len(rows))
        data = [pair for i in picks for pair in rows[i]]
        params = choix.ilsr_pairwise(len(models), data, alpha=1e-6, tol=1e-10)
        fits.append(1000.0 + 400.0 * (params - params.mean()) / math.log(10.0))
    low, high = np.percentile(np.array(fits), [2.5, 97.5], axis=0)
    return {m: (float(low[i]), float(high[i])) for i, m in enumerate(models)}


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--naive-votes", type=int, default=10_000)
    parser.add_argument("--naive-rounds", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    votes, _ = simulate(args.votes, args.models, seed=0)
    rows = leaderboard(votes, rounds=args.rounds, seed=0)  # warm-up
    times = [
        timed(lambda: leaderboard(votes, rounds=args.rounds, seed=0)) for _ in range(args.repeats)
    ]
    elapsed = statistics.median(times)
    print(
        f"leaderboard: {args.votes:,} votes, {args.models} models, {args.rounds} rounds: "
        f"median {elapsed:.3f} s of {len(times)} runs (min {min(times):.3f} s)"
    )
    print(f"  target {TARGET_S:.1f} s: ratio {elapsed / TARGET_S:.3f} of the target")
    clean, clean_truth = simulate(args.votes, args.models, seed=0, ties=False)
    clean_rows = leaderboard(clean, rounds=args.rounds, seed=0)
    covered = sum(1 for r in clean_rows if r.ci_low <= clean_truth[r.model] <= r.ci_high)
    error = max(abs(r.rating - clean_truth[r.model]) for r in clean_rows)
    print(
        f"  accuracy (same size, no ties, so the truth is the estimand): {covered}/{len(rows)} "
        f"true ratings inside their 95% interval, largest error {error:.1f} rating points"
    )

    small, _ = simulate(args.naive_votes, args.models, seed=1)
    rounds = args.naive_rounds
    ours_s = statistics.median(
        timed(lambda: leaderboard(small, rounds=rounds, seed=0)) for _ in range(args.repeats)
    )
    start = time.perf_counter()
    naive = naive_leaderboard(small, rounds, seed=0)
    naive_s = time.perf_counter() - start
    ours = {r.model: r for r in leaderboard(small, rounds=rounds, seed=0)}
    width_ratio = statistics.median(
        (ours[m].ci_high - ours[m].ci_low) / (hi - lo) for m, (lo, hi) in naive.items()
    )
    print(
        f"side by side: {args.naive_votes:,} votes, {args.models} models, {rounds} rounds: "
        f"codearena {ours_s:.3f} s, naive per-round choix {naive_s:.3f} s: "
        f"{naive_s / ours_s:.1f}x faster"
    )
    print(f"  interval widths codearena / naive: median ratio {width_ratio:.3f} (1 = same)")


if __name__ == "__main__":
    main()
