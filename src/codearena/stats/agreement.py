"""Inter-rater agreement: Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability"), from a reliability data matrix of raters x units with NaN (or None) where
a rater did not rate a unit.

alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck, with o the coincidence matrix over
the pairable units (those with at least two ratings), n_c its margins and d the squared
difference function of the level of measurement. 1 is perfect agreement, 0 agreement at chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Level = Literal["nominal", "ordinal", "interval", "ratio"]
FloatArray = NDArray[np.float64]


def _distances(values: FloatArray, margins: FloatArray, level: Level) -> FloatArray:
    """Squared difference d(c, k) between every two observed values."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return np.asarray(c != k, dtype=float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(c + k != 0, ((c - k) / (c + k)) ** 2, 0.0)
        return np.asarray(ratio, dtype=float)
    if level == "ordinal":
        # sum of the margins from rank c to rank k, less half of each end's own margin
        cumulative = np.cumsum(margins)
        lo = np.minimum(np.arange(values.size)[:, None], np.arange(values.size)[None, :])
        hi = np.maximum(np.arange(values.size)[:, None], np.arange(values.size)[None, :])
        between = cumulative[hi] - cumulative[lo] + margins[lo]
        return np.asarray((between - (margins[lo] + margins[hi]) / 2.0) ** 2, dtype=float)
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, not {level!r}")


def coincidences(data: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The observed values (sorted) and the coincidence matrix over the pairable units."""
    observed = ~np.isnan(data)
    values = np.unique(data[observed])
    per_unit = observed.sum(axis=0)
    pairable = per_unit >= 2
    # counts[u, c]: how many raters gave value c to unit u
    counts = np.stack([(data[:, pairable] == v).sum(axis=0) for v in values], axis=1).astype(float)
    m = per_unit[pairable].astype(float)
    weighted = counts / (m - 1.0)[:, None]
    matrix = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    return values, matrix


def krippendorff_alpha(
    data: Sequence[Sequence[float | None]] | FloatArray, level: Level = "ordinal"
) -> float | None:
    """Krippendorff's alpha of a raters x units matrix (NaN or None = missing). None when it is
    undefined: fewer than two pairable ratings, or every rating the same value."""
    matrix = np.array(
        [[np.nan if v is None else float(v) for v in row] for row in data], dtype=float
    )
    if matrix.ndim != 2:
        raise ValueError("data must be a raters x units matrix")
    values, o = coincidences(matrix)
    if values.size == 0:
        return None
    margins = o.sum(axis=1)
    n = float(margins.sum())
    if n < 2:
        return None
    d = _distances(values, margins, level)
    expected = float((margins[:, None] * margins[None, :] * d).sum())
    if expected == 0.0:
        return None
    return 1.0 - (n - 1.0) * float((o * d).sum()) / expected
