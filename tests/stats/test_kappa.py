"""Cohen's kappa against statsmodels' own, and its interval's honesty."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, to_table

from codearena.stats.kappa import MIN_ITEMS, cohen_kappa

LABELS = ("a", "b", "tie", "both_bad")


def _reference(first: list[str], second: list[str]) -> float:
    code = {label: i for i, label in enumerate(sorted(set(first) | set(second)))}
    data = np.array([[code[x], code[y]] for x, y in zip(first, second, strict=True)])
    table, _ = to_table(data, bins=len(code))
    return float(cohens_kappa(table, return_results=False))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kappa_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    first = [str(v) for v in rng.choice(LABELS, 60, p=[0.4, 0.35, 0.15, 0.1])]
    second = [v if rng.random() < 0.6 else str(rng.choice(LABELS)) for v in first]
    got = cohen_kappa(first, second, rounds=200, seed=seed)
    assert got.n == 60
    assert got.kappa == pytest.approx(_reference(first, second), abs=1e-12)
    assert got.observed == pytest.approx(
        np.mean([x == y for x, y in zip(first, second, strict=True)])
    )
    assert got.ci_low is not None and got.ci_high is not None
    assert got.ci_low < got.kappa < got.ci_high


def test_perfect_and_chance_agreement() -> None:
    labels = ["a", "b"] * 20
    assert cohen_kappa(labels, labels, rounds=100).kappa == pytest.approx(1.0)
    # rater 2 says "a" to every other item regardless of rater 1: kappa 0
    second = ["a", "a", "b", "b"] * 10
    assert cohen_kappa(labels, second, rounds=100).kappa == pytest.approx(0.0)


def test_too_few_items_gives_no_interval() -> None:
    got = cohen_kappa(["a", "b", "a"], ["a", "b", "b"])
    assert got.kappa is not None
    assert (got.ci_low, got.ci_high) == (None, None)
    assert got.note is not None and str(MIN_ITEMS) in got.note


def test_one_label_everywhere_is_undefined() -> None:
    got = cohen_kappa(["a"] * 20, ["a"] * 20)
    assert got.observed == 1.0
    assert got.kappa is None and got.note is not None and "undefined" in got.note


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])
