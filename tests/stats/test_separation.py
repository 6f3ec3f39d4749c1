"""Separation and disconnection: exact warnings, open interval ends, centring and ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codearena.stats import (
    Vote,
    board_structure,
    board_warnings,
    bradley_terry,
    leaderboard,
)
from codearena.stats.bradley_terry import aggregate
from codearena.stats.leaderboard import outcome_matrices

from .test_bradley_terry import simulate

LN10 = math.log(10.0)


def _rows(votes: list[Vote], **options: object) -> dict[str, object]:
    return {r.model: r for r in leaderboard(votes, rounds=400, **options)}  # type: ignore[arg-type]


def _unbeaten() -> list[Vote]:
    """A beat B five times and C twice; B and C split 20 battles."""
    return (
        [Vote("A", "B", "a")] * 5
        + [Vote("B", "C", "a")] * 10
        + [Vote("B", "C", "b")] * 10
        + [Vote("C", "A", "b")] * 2
    )


def test_a_model_that_won_every_battle() -> None:
    rows = {r.model: r for r in leaderboard(_unbeaten(), rounds=400)}
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert a.warnings == (
        "A won all 7 of its battles against B and C, so the votes set no upper limit on its "
        "rating: its interval is unbounded above.",
    )
    assert b.warnings == () and c.warnings == ()
    assert (a.ci_high, a.ci_note) == (None, "unbounded above")
    assert a.to_dict()["ci_high"] is None and a.to_dict()["warnings"] == list(a.warnings)
    # B and C are centred on their own (mean 1000): A's penalty-driven rating moves nobody
    assert (b.rating + c.rating) / 2 == pytest.approx(1000.0, abs=1e-6)
    assert b.ci_low is not None and b.ci_high is not None and b.ci_low < 1000 < b.ci_high
    # the finite end: winning all 7 at that rating, against B and C at their lower ends, had a
    # 2.5% chance
    assert a.ci_low is not None and b.ci_low is not None and c.ci_low is not None
    chance = (1 / (1 + 10 ** ((b.ci_low - a.ci_low) / 400))) ** 5 * (
        1 / (1 + 10 ** ((c.ci_low - a.ci_low) / 400))
    ) ** 2
    assert chance == pytest.approx(0.025, rel=1e-4)
    assert a.ci_low < max(b.ci_high or 0, c.ci_high or 0)  # not claimed to be far above them
    assert a.rank == 1 and b.rank == 1 and c.rank == 1


def test_the_bootstrap_alone_would_draw_it_narrow() -> None:
    """Why the end is open: every resample keeps A unbeaten, so its percentile interval is
    narrow around a rating the ridge penalty sets (the old board showed 2473 to 2634)."""
    rows = leaderboard(_unbeaten(), rounds=400)
    widths = {
        r.model: math.inf if r.ci_low is None or r.ci_high is None else r.ci_high - r.ci_low
        for r in rows
    }
    assert widths["A"] == math.inf
    assert all(widths["A"] >= w for w in widths.values())


def test_a_model_that_lost_every_battle() -> None:
    votes = [Vote("B", "Z", "a")] * 3 + [Vote("Z", "C", "b")] + [Vote("B", "C", "tie")] * 4
    rows = {r.model: r for r in leaderboard(votes, rounds=300)}
    z = rows["Z"]
    assert z.warnings == (
        "Z lost all 4 of its battles against B and C, so the votes set no lower limit on its "
        "rating: its interval is unbounded below.",
    )
    assert z.ci_low is None and z.ci_high is not None and z.ci_note == "unbounded below"
    assert rows["B"].warnings == () and rows["B"].ci_low is not None
    assert z.ci_high < max(rows["B"].ci_high or 0, rows["C"].ci_high or 0) + 400


def test_one_battle_and_a_pure_ranking() -> None:
    rows = {r.model: r for r in leaderboard([Vote("A", "B", "a"), Vote("B", "C", "a")])}
    order = (
        "The votes among A, B and C never go against one ranking of these models (no model beat "
        "one that beat it, directly or through others), so they order the models but give them "
        "no finite ratings."
    )
    both = "so its rating has no finite estimate: its interval is unbounded on both sides."
    assert rows["A"].warnings == (f"A won its one battle against B, {both}", order)
    assert rows["B"].warnings == (
        f"B won its one battle against C and lost its one battle against A, {both}",
        order,
    )
    assert rows["C"].warnings == (f"C lost its one battle against B, {both}", order)
    for row in rows.values():
        assert (row.ci_low, row.ci_high, row.rank) == (None, None, 1)
        assert row.ci_note == "unbounded on both sides"


def test_two_models_and_a_clean_sweep() -> None:
    rows = {r.model: r for r in leaderboard([Vote("x", "y", "a")] * 3, rounds=100)}
    assert rows["x"].warnings[0] == (
        "x won all 3 of its battles against y, so its rating has no finite estimate: its "
        "interval is unbounded on both sides."
    )
    assert rows["y"].warnings[0].startswith("y lost all 3 of its battles against x, ")
    assert (rows["x"].rating + rows["y"].rating) / 2 == pytest.approx(1000.0)


def test_a_block_that_beat_all_the_others() -> None:
    """No single model won every battle, but A and B won all 12 against C and D."""
    votes = [Vote("A", "C", "a")] * 6 + [Vote("B", "D", "a")] * 6
    votes += [
        Vote("A", "B", "a"),
        Vote("B", "A", "a"),
        Vote("C", "D", "a"),
        Vote("D", "C", "a"),
    ] * 3
    rows = {r.model: r for r in leaderboard(votes, rounds=300)}
    assert rows["A"].warnings == () and rows["B"].warnings == ()
    assert rows["C"].warnings == (
        "C is one of the models C and D, which lost all 12 of their battles against A and B, so "
        "the votes set no lower limit on its rating: its interval is unbounded below.",
    )
    assert rows["D"].warnings == (
        "D is one of the models C and D, which lost all 12 of their battles against A and B, so "
        "the votes set no lower limit on its rating: its interval is unbounded below.",
    )
    assert rows["C"].ci_low is None and rows["C"].ci_high is not None
    assert (rows["A"].rating + rows["B"].rating) / 2 == pytest.approx(1000.0, abs=1e-6)
    # within the block the difference is the votes' own: C and D split 3-3
    assert rows["C"].rating == pytest.approx(rows["D"].rating, abs=1e-6)


def test_groups_that_never_met() -> None:
    votes = [Vote("A", "B", "a"), Vote("B", "A", "a"), Vote("A", "B", "a")] * 4
    votes += [Vote("C", "D", "a"), Vote("D", "C", "a")] * 2
    board = leaderboard(votes, rounds=300)
    rows = {r.model: r for r in board}
    assert rows["A"].warnings == (
        "A is in group 1 of 2 (A and B), which never met the other 2 models (C and D), directly "
        "or through other models, so ratings across groups are not comparable.",
    )
    assert rows["D"].warnings == (
        "D is in group 2 of 2 (C and D), which never met the other 2 models (A and B), directly "
        "or through other models, so ratings across groups are not comparable.",
    )
    assert [r.group for r in board] == [1, 1, 2, 2]  # group by group, then by rating
    assert [r.model for r in board] == ["A", "B", "C", "D"]
    for group in ("AB", "CD"):
        mean = sum(rows[m].rating for m in group) / 2
        assert mean == pytest.approx(1000.0, abs=1e-6)
    assert [rows[m].rank for m in "ABCD"] == [1, 1, 1, 1]  # ranked within their group


def test_a_lone_model_whose_ties_carry_no_weight() -> None:
    votes = [Vote("A", "B", "tie")] * 2 + [Vote("B", "C", "a"), Vote("C", "B", "a")] * 3
    warnings = board_warnings(votes, tie_weight=0.0)
    assert warnings["A"] == (
        "A is in group 2 of 2 (A), which never met the other 2 models (B and C), directly or "
        "through other models, so ratings across groups are not comparable.",
        "A's 2 battles were all ties, which count for nothing with a tie weight of 0, so its "
        "rating has no estimate: its interval is unbounded on both sides.",
    )
    a = {r.model: r for r in leaderboard(votes, tie_weight=0.0, rounds=100)}["A"]
    assert (a.ci_low, a.ci_high, a.group) == (None, None, 2)


def test_ties_are_not_losses_but_break_separation() -> None:
    """A won or tied every battle: with ties as half a win A also lost half of each tie, so
    its rating is finite; only with a tie weight of 0 is it separated."""
    votes = [Vote("A", "B", "a")] * 3 + [Vote("A", "B", "tie")] + [Vote("B", "C", "a")] * 2
    votes += [Vote("C", "B", "a")] * 2 + [Vote("A", "C", "a")] * 2
    assert board_warnings(votes)["A"] == ()
    assert board_warnings(votes, tie_weight=0.0)["A"] == (
        "A won all 5 of its battles against B and C (it also tied 1 time; ties count for "
        "nothing with a tie weight of 0), so the votes set no upper limit on its rating: its "
        "interval is unbounded above.",
    )


def test_a_sound_board_has_no_warnings_and_the_old_numbers() -> None:
    votes = simulate([1.0, 0.5, 0.0, -0.7], n=1500, seed=3, tie_rate=0.1)
    board = leaderboard(votes, rounds=200)
    assert all(r.warnings == () and r.ci_note is None and r.group == 1 for r in board)
    assert all(r.ci_low is not None and r.ci_high is not None for r in board)
    point = bradley_terry(votes)
    for row in board:
        assert row.rating == pytest.approx(point[row.model], abs=1e-9)
    assert set(board_warnings(votes).values()) == {()}


def test_board_structure_is_pure_and_names_the_groups() -> None:
    votes = [Vote("A", "B", "a")] * 2 + [Vote("C", "D", "a"), Vote("D", "C", "a")]
    counts = aggregate(votes)
    decisive, ties = outcome_matrices(counts)
    structure = board_structure(counts.models, decisive, ties)
    assert structure.groups == [["A", "B"], ["C", "D"]]
    assert structure.open_low == (True, True, False, False)
    assert structure.open_high == (True, True, False, False)
    assert np.array_equal(decisive, outcome_matrices(counts)[0])
    with pytest.raises(ValueError, match="matrices"):
        board_structure(counts.models, decisive[:2, :2], ties)
