"""Krippendorff's alpha against the published example and the krippendorff package."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from codearena.stats import krippendorff_alpha
from codearena.stats.agreement import Level

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1-5, with missing data. Published: nominal .743, ordinal .815,
# interval .849, ratio .797.
EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_published_example(level: Level, published: float) -> None:
    ours = krippendorff_alpha(EXAMPLE, level)
    assert ours == pytest.approx(published, abs=0.0005)
    reference = krippendorff.alpha(reliability_data=np.array(EXAMPLE), level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_matches_package_on_random_ratings(seed: int, level: Level) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, size=30)
    data = np.clip(truth + rng.integers(-1, 2, size=(5, 30)), 1, 5).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    ours = krippendorff_alpha(data, level)
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-10)


def test_none_for_missing_and_undefined() -> None:
    with_none: list[list[float | None]] = [[1, 2, None], [1, 3, 2]]
    assert krippendorff_alpha(with_none) == pytest.approx(
        krippendorff.alpha(reliability_data=np.array([[1, 2, NAN], [1, 3, 2]]),
                           level_of_measurement="ordinal")
    )  # fmt: skip
    assert krippendorff_alpha([[3, 3], [3, 3]]) is None  # no variation: undefined
    assert krippendorff_alpha([[1, NAN], [NAN, 2]]) is None  # nothing pairable
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3]]) == 1.0
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[1, 2], [1, 2]], "fuzzy")  # type: ignore[arg-type]
