"""The schedules of the controlled designs: counterbalancing checked by counting."""

from __future__ import annotations

from collections import Counter
from itertools import permutations

import pytest

from codearena.studies.designs import assign, conditions, williams_rows

MODELS = ["m/a", "m/b", "m/c"]
TASKS = [f"t{i}" for i in range(6)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_williams_rows_balance_positions_and_carryover(n: int) -> None:
    rows = williams_rows(n)
    assert len(rows) == (2 * n if n % 2 and n > 1 else n)
    assert all(sorted(row) == list(range(n)) for row in rows)
    for position in range(n):  # every task in every position equally often
        assert len(set(Counter(row[position] for row in rows).values())) == 1
    if n > 1:  # every ordered pair adjacent equally often
        follows = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
        assert set(follows) == set(permutations(range(n), 2))
        assert len(set(follows.values())) == 1


def test_crossover_blind_balances_pairs_models_and_sides_per_task() -> None:
    pairs = len(conditions("crossover", "blind", MODELS))
    assert pairs == 6
    slots = [assign("crossover", "blind", MODELS, TASKS, s, seed=7) for s in range(2 * pairs)]
    for task in TASKS:
        seen = [models for a in slots for key, models in a.items if key == task]
        assert Counter(seen) == {p: 2 for p in permutations(MODELS, 2)}
        assert Counter(m[0] for m in seen) == {m: 4 for m in MODELS}  # side A
        assert Counter(m[1] for m in seen) == {m: 4 for m in MODELS}  # side B
    assert all(sorted(k for k, _ in a.items) == sorted(TASKS) for a in slots)


def test_crossover_named_rotates_the_order_of_all_models() -> None:
    slots = [assign("crossover", "named", MODELS, TASKS, s, seed=1) for s in range(3)]
    for task in TASKS:
        shown = [models for a in slots for key, models in a.items if key == task]
        assert all(sorted(m) == sorted(MODELS) for m in shown)
        for position in range(3):
            assert sorted(m[position] for m in shown) == sorted(MODELS)


def test_between_fills_balanced_blocks_and_alternates_sides() -> None:
    count = len(conditions("between", "blind", MODELS))
    slots = [assign("between", "blind", MODELS, TASKS, s, seed=3) for s in range(3 * count)]
    for block in range(3):
        got = [tuple(sorted(a.condition or ())) for a in slots[block * count : (block + 1) * count]]
        assert sorted(got) == sorted(
            tuple(sorted(c)) for c in conditions("between", "blind", MODELS)
        )
    one = slots[0]
    assert one.condition is not None and len({tuple(sorted(m)) for _, m in one.items}) == 1
    assert Counter(m[0] for _, m in one.items) == {one.condition[0]: 3, one.condition[1]: 3}
    named = [assign("between", "named", MODELS, TASKS, s, seed=3) for s in range(6)]
    assert Counter(a.condition for a in named) == {(m,): 2 for m in MODELS}
    assert all(models == named[0].condition for _, models in named[0].items)


def test_tasks_per_participant_keeps_every_task_equally_often() -> None:
    slots = [
        assign("crossover", "blind", MODELS, TASKS, s, seed=5, per_participant=2) for s in range(6)
    ]
    assert all(len(a.items) == 2 for a in slots)
    assert Counter(key for a in slots for key, _ in a.items) == {t: 2 for t in TASKS}


def test_the_seed_fixes_the_schedule_and_changes_it() -> None:
    first = [assign("crossover", "blind", MODELS, TASKS, s, seed=11) for s in range(6)]
    again = [assign("crossover", "blind", MODELS, TASKS, s, seed=11) for s in range(6)]
    other = [assign("crossover", "blind", MODELS, TASKS, s, seed=12) for s in range(6)]
    assert first == again and first != other


def test_bad_designs_are_refused() -> None:
    assert assign("open", "blind", MODELS, [], 0, seed=0).items == ()
    with pytest.raises(ValueError, match="task file"):
        assign("crossover", "blind", MODELS, [], 0, seed=0)
    with pytest.raises(ValueError, match="between 1 and 6"):
        assign("between", "named", MODELS, TASKS, 0, seed=0, per_participant=7)
    with pytest.raises(ValueError, match="two models"):
        conditions("crossover", "named", ["m/a"])
    with pytest.raises(ValueError, match="design must be"):
        conditions("latin", "named", MODELS)  # type: ignore[arg-type]
