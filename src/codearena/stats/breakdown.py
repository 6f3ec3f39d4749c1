"""Generic grouping: the same summaries per language, category, participant group, model...

``key`` is either a callable or a name, looked up as an attribute or, for mappings, an item::

    breakdown(results, "language", objective_summary)
    breakdown(pairs, lambda p: p.group, lambda rows: leaderboard(p.vote for p in rows))
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar, overload

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
S = TypeVar("S")


def _lookup(row: object, name: str) -> Any:
    if isinstance(row, Mapping):
        return row[name]
    try:
        return getattr(row, name)
    except AttributeError:
        raise KeyError(f"{type(row).__name__} row has no field {name!r} to group by") from None


def _ordered(groups: dict[Any, list[T]]) -> dict[Any, list[T]]:
    """Groups sorted by key (None last) when the keys can be compared, else in first-seen order."""
    try:
        keys = sorted(groups, key=lambda k: (k is None, k))
    except TypeError:
        return groups
    return {k: groups[k] for k in keys}


@overload
def group_by(rows: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]: ...
@overload
def group_by(rows: Iterable[T], key: str) -> dict[Any, list[T]]: ...
def group_by(rows: Iterable[T], key: Callable[[T], Any] | str) -> dict[Any, list[T]]:
    """Rows per key value, keeping each group's rows in input order."""
    groups: dict[Any, list[T]] = {}
    for row in rows:
        value = _lookup(row, key) if isinstance(key, str) else key(row)
        groups.setdefault(value, []).append(row)
    return _ordered(groups)


@overload
def breakdown(
    rows: Iterable[T],
    key: Callable[[T], K],
    summarise: Callable[[list[T]], S],
    *,
    min_rows: int = 1,
) -> dict[K, S]: ...
@overload
def breakdown(
    rows: Iterable[T], key: str, summarise: Callable[[list[T]], S], *, min_rows: int = 1
) -> dict[Any, S]: ...
def breakdown(
    rows: Iterable[T],
    key: Callable[[T], Any] | str,
    summarise: Callable[[list[T]], S],
    *,
    min_rows: int = 1,
) -> dict[Any, S]:
    """``summarise`` applied to each group with at least ``min_rows`` rows."""
    return {
        value: summarise(group)
        for value, group in group_by(rows, key).items()
        if len(group) >= min_rows
    }
