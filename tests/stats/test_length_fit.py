"""Pass rate against description length: the logistic fit, its 50% length and intervals."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from codearena.stats.length_fit import MIN_N, doubling_odds, length_fit


def _simulated(n: int, a: float, b: float, seed: int) -> tuple[list[float], list[bool]]:
    rng = np.random.default_rng(seed)
    lengths = 2.0 ** rng.uniform(6, 13, n)  # 64 to 8192 characters
    p = 1 / (1 + np.exp(-(a + b * np.log2(lengths))))
    return lengths.tolist(), (rng.random(n) < p).tolist()


def test_the_fit_matches_statsmodels_and_recovers_the_50_percent_length() -> None:
    a, b = 10.0, -1.0  # 50% at 2**10 = 1024 characters
    lengths, passed = _simulated(600, a, b, seed=3)
    got = length_fit(lengths, passed, rounds=200, seed=1)
    reference = sm.Logit(np.asarray(passed, float), sm.add_constant(np.log2(lengths))).fit(disp=0)
    assert got.slope == pytest.approx(reference.params[1], abs=1e-3)
    assert got.slope_low is not None and got.slope_high is not None
    assert got.slope_low < b < got.slope_high
    assert got.l50 is not None and got.l50_low is not None and got.l50_high is not None
    assert got.l50_low < 1024 < got.l50_high
    assert got.note is None
    assert doubling_odds(got.slope) == pytest.approx(np.exp(got.slope))


def test_no_fall_with_length_gives_no_50_percent_length() -> None:
    lengths, passed = _simulated(200, -2.0, 0.3, seed=5)  # longer is better here
    got = length_fit(lengths, passed, rounds=100)
    assert got.l50 is None and got.note == "the fitted pass rate does not fall with length"
    rng = np.random.default_rng(6)
    short = 2.0 ** rng.uniform(6, 8, 400)  # 64 to 256 characters; 50% only at 2**12
    p = 1 / (1 + np.exp(-(6.0 - 0.5 * np.log2(short))))
    got = length_fit(short.tolist(), (rng.random(400) < p).tolist(), rounds=50)
    assert got.slope is not None and got.slope < 0
    assert got.l50 is None
    assert got.note == "the fitted pass rate does not reach 50% within the observed lengths"


def test_too_little_data_says_so() -> None:
    got = length_fit([100.0] * (MIN_N - 1), [True, False] * 9 + [True], rounds=10)
    assert got.slope is None and got.note is not None and "n too small" in got.note
    got = length_fit([100.0 + i for i in range(30)], [True] * 28 + [False] * 2, rounds=10)
    assert got.slope is None  # fewer than 3 failures
    narrow = length_fit([100.0 + i for i in range(40)], [i % 3 == 0 for i in range(40)], rounds=10)
    assert (
        narrow.slope is None and narrow.note is not None and "less than a doubling" in narrow.note
    )
    with pytest.raises(ValueError, match="one outcome per length"):
        length_fit([1.0], [True, False])
