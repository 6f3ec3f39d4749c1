"""Where the votes of a board cannot give Bradley-Terry ratings: disconnection and separation.

Two facts about the maximum-likelihood fit of ``bradley_terry`` (Zermelo 1929; Ford 1957;
Hunter 2004, "MM algorithms for generalized Bradley-Terry models", condition 1):

* **Disconnection.** Ratings are comparable only within a *group*: a connected component of the
  comparison graph (the models, and an edge between two models whose battles carry weight in the
  fit). The likelihood does not change when one group's ratings are all shifted, so every group
  is centred on its own and ratings across groups mean nothing.
* **Separation.** Within a group the estimate is finite only if the *win graph* (an arrow from i
  to j when i has any win over j, a tie counting as ``tie_weight`` of a win each way) is strongly
  connected: every model beat, directly or through others, every other model. A model that won
  every battle (or lost every one) is the simplest case: its likelihood keeps rising as its
  rating goes to +infinity (-infinity). In general the group splits into *blocks* (the strongly
  connected components of the win graph); the distance between two blocks has no finite
  estimate, only the differences within a block do.

``board_structure`` finds the groups and blocks and decides, for every model, where its interval
is open. A group whose win graph is strongly connected is *sound*: centred on all its models, no
warnings. Otherwise its largest block (most models, then most battles, then the first name) is
the group's *reference*: the group is centred on it and its models keep their bootstrap
intervals. Every other block lies above the reference (it beat it, directly or through others),
below it, or apart from it (neither), and its models' intervals are open upward, downward or
both; the other end stays finite only when the block battled the reference directly (the
leaderboard puts it where that record had a 2.5% chance). When every block is a single model
(the votes never contradict one ranking of the models) there is no reference: every interval of
the group is open on both sides. Every affected model gets warnings built from the counts and
the names in the votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BoardStructure:
    """Per model (in ``models`` order): its group (1 = the largest), its block, whether it is
    one of the models its group is centred on, whether the votes set no lower / no upper limit
    on its rating, and its warnings (sentences; empty when all is well)."""

    models: tuple[str, ...]
    group: tuple[int, ...]
    block: tuple[int, ...]
    centre: tuple[bool, ...]
    open_low: tuple[bool, ...]
    open_high: tuple[bool, ...]
    warnings: tuple[tuple[str, ...], ...]

    @property
    def groups(self) -> list[list[str]]:
        """The models of each group, group 1 first."""
        count = max(self.group, default=0)
        pairs = list(zip(self.models, self.group, strict=True))
        return [[m for m, g in pairs if g == n] for n in range(1, count + 1)]


def names(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _components(adjacency: NDArray[np.bool_], strong: bool) -> NDArray[np.int64]:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped, unused-ignore]
    from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped, unused-ignore]

    _, labels = connected_components(
        csr_matrix(adjacency.astype(np.int8)),
        directed=strong,
        connection="strong" if strong else "weak",
    )
    return np.asarray(labels, dtype=np.int64)


def _reachable(edges: NDArray[np.bool_], start: int) -> set[int]:
    """Nodes reachable from ``start`` along ``edges[i, j]`` (i -> j), ``start`` excluded."""
    seen: set[int] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in np.flatnonzero(edges[node]).tolist():
            if nxt not in seen and nxt != start:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def board_structure(
    models: Sequence[str],
    decisive: FloatArray,
    ties: FloatArray,
    *,
    tie_weight: float = 0.5,
) -> BoardStructure:
    """The groups, blocks, open interval ends and warnings of a board.

    ``decisive[i, j]`` counts the votes where model i beat model j; ``ties[i, j]`` (symmetric)
    the ties between them ("both bad" votes included when they count as ties)."""
    k = len(models)
    if decisive.shape != (k, k) or ties.shape != (k, k):
        raise ValueError(f"decisive and ties must be {k} x {k} matrices")
    if not 0.0 <= tie_weight <= 1.0:
        raise ValueError(f"tie_weight must be between 0 and 1, got {tie_weight}")
    wins = decisive + tie_weight * ties
    games = wins + wins.T
    raw_group = _components(games > 0, strong=False)
    block_of = _components(wins > 0, strong=True)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(raw_group.tolist()):
        members.setdefault(g, []).append(i)
    ordered = sorted(members.values(), key=lambda idx: (-len(idx), models[idx[0]]))
    group = [0] * k
    for number, idx in enumerate(ordered, start=1):
        for i in idx:
            group[i] = number
    centre = [False] * k
    open_low = [False] * k
    open_high = [False] * k
    warnings: list[list[str]] = [[] for _ in range(k)]
    ends = _Ends(centre, open_low, open_high, warnings)
    for number, idx in enumerate(ordered, start=1):
        if len(ordered) > 1:
            _disconnection(models, idx, ordered, number, warnings)
        _separation(models, idx, block_of, decisive, ties, wins, tie_weight, ends)
    return BoardStructure(
        models=tuple(models),
        group=tuple(group),
        block=tuple(int(b) for b in block_of),
        centre=tuple(centre),
        open_low=tuple(open_low),
        open_high=tuple(open_high),
        warnings=tuple(tuple(w) for w in warnings),
    )


@dataclass(frozen=True)
class _Ends:
    """The per-model lists ``board_structure`` fills in."""

    centre: list[bool]
    low: list[bool]
    high: list[bool]
    warnings: list[list[str]]


def _disconnection(
    models: Sequence[str],
    idx: list[int],
    ordered: list[list[int]],
    number: int,
    warnings: list[list[str]],
) -> None:
    inside = [models[i] for i in idx]
    outside = [models[i] for other in ordered if other is not idx for i in other]
    others = "model" if len(outside) == 1 else f"{len(outside)} models"
    for i in idx:
        warnings[i].append(
            f"{models[i]} is in group {number} of {len(ordered)} ({names(inside)}), which never "
            f"met the other {others} ({names(outside)}), directly or through other models, "
            "so ratings across groups are not comparable."
        )


def _conclusion(low: bool, high: bool) -> str:
    if low and high:
        return "so its rating has no finite estimate: its interval is unbounded on both sides."
    if high:
        return "so the votes set no upper limit on its rating: its interval is unbounded above."
    return "so the votes set no lower limit on its rating: its interval is unbounded below."


def _separation(
    models: Sequence[str],
    idx: list[int],
    block_of: NDArray[np.int64],
    decisive: FloatArray,
    ties: FloatArray,
    wins: FloatArray,
    tie_weight: float,
    ends: _Ends,
) -> None:
    """Fill in one group's centre, open ends and separation warnings."""
    centre, open_low, open_high, warnings = ends.centre, ends.low, ends.high, ends.warnings
    blocks: dict[int, list[int]] = {}
    for i in idx:
        blocks.setdefault(int(block_of[i]), []).append(i)
    if len(idx) == 1:  # battles that carry no weight: only ties, with tie_weight 0
        (i,) = idx
        centre[i] = open_low[i] = open_high[i] = True
        tied = int(ties[i].sum())
        warnings[i].append(
            f"{models[i]}'s {_plural(tied, 'battle')} were all ties, which count for nothing "
            "with a tie weight of 0, so its rating has no estimate: its interval is unbounded "
            "on both sides."
        )
        return
    if len(blocks) == 1:
        for i in idx:
            centre[i] = True
        return
    sizes = {b: (len(m), float(wins[np.ix_(m, m)].sum()), -min(m)) for b, m in blocks.items()}
    reference = max(blocks, key=lambda b: sizes[b])
    ranked_only = len(blocks[reference]) == 1
    labels = sorted(blocks)
    position = {b: n for n, b in enumerate(labels)}
    edges = np.zeros((len(labels), len(labels)), dtype=bool)
    for a in blocks:
        for b in blocks:
            if a != b and wins[np.ix_(blocks[a], blocks[b])].sum() > 0:
                edges[position[a], position[b]] = True
    below = {labels[n] for n in _reachable(edges, position[reference])}
    above = {labels[n] for n in _reachable(edges.T, position[reference])}
    for b, block in blocks.items():
        if ranked_only:
            low = high = True
        elif b == reference:
            for i in block:
                centre[i] = True
            continue
        else:
            met = float(wins[np.ix_(block, blocks[reference])].sum()) + float(
                wins[np.ix_(blocks[reference], block)].sum()
            )
            high = b not in below
            low = b not in above
            if met == 0:
                low = high = True
        for i in block:
            open_low[i], open_high[i] = low, high
            if ranked_only:
                centre[i] = True
            warnings[i].append(
                _record(models, i, block, decisive, ties, tie_weight)
                + ", "
                + _conclusion(low, high)
            )
    if ranked_only:
        order = [models[i] for i in idx]
        for i in idx:
            warnings[i].append(
                f"The votes among {names(order)} never go against one ranking of these models "
                "(no model beat one that beat it, directly or through others), so they order "
                "the models but give them no finite ratings."
            )


def _battles(n: int, verb: str, their: str, others: str) -> str:
    if n == 1:
        return f"{verb} {their} one battle against {others}"
    return f"{verb} all {n} of {their} battles against {others}"


def _record(
    models: Sequence[str],
    i: int,
    block: list[int],
    decisive: FloatArray,
    ties: FloatArray,
    tie_weight: float,
) -> str:
    """What a block did against the models outside it, as seen from model ``i``: "m/a won all 7
    of its battles against m/b and m/c", or "m/a is one of the models m/a and m/b, which won all
    12 of their battles against m/c and lost their one battle against m/d"."""
    inside = set(block)
    rest = [j for j in range(len(models)) if j not in inside]
    beaten = [j for j in rest if decisive[block, j].sum() > 0]
    beaten_by = [j for j in rest if decisive[j, block].sum() > 0]
    if len(block) == 1:
        lead, their = models[i], "its"
    else:
        lead = f"{models[i]} is one of the models {names([models[j] for j in block])}, which"
        their = "their"
    parts = []
    if beaten:
        won = int(decisive[np.ix_(block, beaten)].sum())
        parts.append(_battles(won, "won", their, names([models[j] for j in beaten])))
    if beaten_by:
        lost = int(decisive[np.ix_(beaten_by, block)].sum())
        parts.append(_battles(lost, "lost", their, names([models[j] for j in beaten_by])))
    text = f"{lead} {' and '.join(parts) or 'had no decisive battles with the rest of its group'}"
    tied = int(ties[np.ix_(block, rest)].sum())
    if tied and tie_weight == 0.0:
        who = "it" if len(block) == 1 else "they"
        text += (
            f" ({who} also tied {_plural(tied, 'time')}; ties count for nothing with a tie weight"
            " of 0)"
        )
    return text
