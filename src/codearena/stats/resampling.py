"""Bootstrap resampling of aggregated votes: of single votes, or of participants (clusters).

Votes from one participant are not independent (a participant who prefers long answers casts
many votes that agree), so resampling single votes understates the uncertainty. The *cluster
bootstrap* draws participants with replacement, each bringing all of their votes (Davison &
Hinkley 1997, "Bootstrap methods and their application", section 3.8; Field & Welsh 2007,
"Bootstrapping clustered data", J. R. Statist. Soc. B 69:369).

Both stay on the aggregated cells (one per pair of models and outcome; see ``bradley_terry``).
A participant is the vector of its votes' counts per cell. Drawing ``n`` participants with
replacement out of ``n`` gives multinomial counts ``m`` (``n`` draws, probability ``1/n`` each);
participants with the same vector are interchangeable, so they are merged into one *pattern*
drawn with probability ``multiplicity / n``. A round's cell counts are then ``m @ patterns``:
one multinomial draw and one matrix product per batch of rounds, whatever the number of votes.
The vote bootstrap is the case where every vote is a participant of its own: the patterns are
the cells themselves and the draw is the one ``leaderboard`` always made (same seed, same
resamples).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
Bootstrap = Literal["votes", "participants"]
BOOTSTRAPS: tuple[str, ...] = get_args(Bootstrap)


def check_bootstrap(bootstrap: str) -> Bootstrap:
    if bootstrap == "votes":
        return "votes"
    if bootstrap == "participants":
        return "participants"
    raise ValueError(f"bootstrap must be one of {', '.join(BOOTSTRAPS)}, not {bootstrap!r}")


def cluster_codes(clusters: Sequence[str | None]) -> IntArray:
    """An integer per cluster label; every None is a cluster of its own."""
    codes: dict[str, int] = {}
    out = np.empty(len(clusters), dtype=np.int64)
    fresh = 0
    for i, label in enumerate(clusters):
        if label is None:
            out[i] = fresh
            fresh += 1
            continue
        code = codes.get(label)
        if code is None:
            code = codes[label] = fresh
            fresh += 1
        out[i] = code
    return out


def patterns(cells: IntArray, clusters: IntArray, n_cells: int) -> tuple[IntArray, IntArray]:
    """The distinct per-cluster count vectors over ``n_cells`` cells (``(T, n_cells)``) and how
    many clusters have each (``(T,)``), from each unit's cell and cluster code."""
    if cells.size == 0:
        return np.zeros((0, n_cells), dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((cells, clusters))
    c, k = clusters[order], cells[order]
    # one (cluster, cell, count) triple per run of equal (cluster, cell)
    starts = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (k[1:] != k[:-1])])
    run_cluster, run_cell = c[starts], k[starts]
    run_count = np.diff(np.r_[starts, c.size])
    bounds = np.flatnonzero(np.r_[True, run_cluster[1:] != run_cluster[:-1]])
    ends = np.r_[bounds[1:], run_cluster.size]
    seen: dict[bytes, int] = {}
    rows: list[tuple[IntArray, IntArray]] = []
    multiplicity: list[int] = []
    for lo, hi in zip(bounds.tolist(), ends.tolist(), strict=True):
        key = run_cell[lo:hi].tobytes() + b"|" + run_count[lo:hi].tobytes()
        found = seen.get(key)
        if found is None:
            seen[key] = len(rows)
            rows.append((run_cell[lo:hi], run_count[lo:hi]))
            multiplicity.append(1)
        else:
            multiplicity[found] += 1
    table = np.zeros((len(rows), n_cells), dtype=np.int64)
    for t, (where, how_many) in enumerate(rows):
        table[t, where] = how_many
    return table, np.asarray(multiplicity, dtype=np.int64)


def resample_cells(
    counts: IntArray,
    cells_of_votes: IntArray,
    clusters: Sequence[str | None] | None,
    rounds: int,
    rng: np.random.Generator,
) -> IntArray:
    """Bootstrap cell counts ``(rounds, cells)``. ``counts`` are the observed counts per cell;
    with ``clusters`` None every vote is resampled on its own (the vote bootstrap), otherwise
    the clusters (one label per vote, ``cells_of_votes[i]`` its cell; None a cluster of its own)
    are drawn with replacement, each with all of its votes."""
    if clusters is None:
        total = int(counts.sum())
        return rng.multinomial(total, counts / total, size=rounds).astype(np.int64)
    if len(clusters) != cells_of_votes.size:
        raise ValueError("one cluster label per vote is needed")
    table, multiplicity = patterns(cells_of_votes, cluster_codes(clusters), counts.size)
    n = int(multiplicity.sum())
    drawn = rng.multinomial(n, multiplicity / n, size=rounds).astype(np.int64)
    return drawn @ table


__all__ = [
    "BOOTSTRAPS",
    "Bootstrap",
    "check_bootstrap",
    "cluster_codes",
    "patterns",
    "resample_cells",
]
