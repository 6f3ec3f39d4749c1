"""Rating summaries per model and dimension."""

from __future__ import annotations

import pytest

from codearena.stats import Rating, rating_summary, rating_table


def test_rating_summary() -> None:
    summary = rating_summary([5, 4, 4, 3, None, 5, 2])
    assert summary.n == 6
    assert summary.mean == pytest.approx(23 / 6)
    assert summary.median == 4.0
    assert summary.counts == {1: 0, 2: 1, 3: 1, 4: 2, 5: 2}
    # t-interval: sd of (5,4,4,3,5,2) = 1.169045, t(0.975, 5) = 2.570582
    half = 2.570582 * 1.169045 / 6**0.5
    assert summary.ci_low == pytest.approx(23 / 6 - half, abs=1e-5)
    assert summary.ci_high == pytest.approx(23 / 6 + half, abs=1e-5)
    assert summary.to_dict()["counts"] == {"1": 0, "2": 1, "3": 1, "4": 2, "5": 2}


def test_small_and_invalid() -> None:
    empty = rating_summary([])
    assert (empty.n, empty.mean, empty.median, empty.ci_low) == (0, None, None, None)
    assert empty.counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    one = rating_summary([4])
    assert (one.mean, one.median, one.ci_low, one.ci_high) == (4.0, 4.0, None, None)
    with pytest.raises(ValueError, match="scores must be in"):
        rating_summary([1, 6])
    assert rating_summary([0, 10], levels=range(0, 11)).mean == 5.0


def test_rating_table() -> None:
    ratings = [
        Rating("m2", "correctness", 5),
        Rating("m1", "readability", 2),
        Rating("m1", "correctness", 3),
        Rating("m1", "correctness", 4),
    ]
    table = rating_table(ratings)
    assert list(table) == ["m1", "m2"]
    assert list(table["m1"]) == ["correctness", "readability"]
    assert table["m1"]["correctness"].mean == 3.5
    assert table["m2"]["correctness"].counts[5] == 1
