"""Generic breakdowns by a group key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from codearena.stats import TaskResult, Vote, breakdown, group_by, leaderboard, objective_summary


@dataclass
class Row:
    language: str | None
    result: TaskResult


ROWS = [
    Row("python", TaskResult("m", passed=True)),
    Row("go", TaskResult("m", passed=False)),
    Row(None, TaskResult("m", passed=True)),
    Row("python", TaskResult("m", passed=False)),
]


def test_group_by_attribute_mapping_and_callable() -> None:
    groups = group_by(ROWS, "language")
    assert list(groups) == ["go", "python", None]
    assert groups["python"] == [ROWS[0], ROWS[3]]
    dicts = [{"group": "students"}, {"group": "experts"}, {"group": "students"}]
    assert list(group_by(dicts, "group")) == ["experts", "students"]
    assert list(group_by(range(5), lambda v: v % 2)) == [0, 1]
    mixed = group_by([1, "x", 2], lambda v: v)  # keys that cannot be sorted keep their order
    assert list(mixed) == [1, "x", 2]
    with pytest.raises(KeyError, match="no field 'lang'"):
        group_by(ROWS, "lang")


def test_breakdown_applies_a_summary_per_group() -> None:
    table = breakdown(ROWS, "language", lambda rows: objective_summary(r.result for r in rows))
    assert table["python"].pass_rate == 0.5 and table["go"].pass_rate == 0.0
    assert list(breakdown(ROWS, "language", len, min_rows=2)) == ["python"]


def test_leaderboard_per_group() -> None:
    pairs = [(Vote("x", "y", "a"), "python")] * 3 + [(Vote("x", "y", "b"), "go")] * 3
    pairs += [(Vote("x", "y", "b"), "python"), (Vote("x", "y", "a"), "go")]
    boards = breakdown(
        pairs, lambda p: p[1], lambda rows: leaderboard((v for v, _ in rows), rounds=50)
    )
    assert boards["python"][0].model == "x" and boards["go"][0].model == "y"
