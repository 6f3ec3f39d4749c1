"""Linear mixed models of ratings and participant-clustered GEE of pass/fail, with statsmodels.

**Ratings.** For one rating dimension, score ``y`` of model ``m`` by participant ``p`` on task
``t``::

    y = beta_m + u_p + v_t + e,   u_p ~ N(0, s2_participant), v_t ~ N(0, s2_task),
                                  e ~ N(0, s2_residual), all independent

(``score ~ 0 + model + (1 | participant) + (1 | task)``: crossed random intercepts, fitted by
REML as statsmodels' ``MixedLM`` with one group holding everything and the two factors as
variance components). ``beta_m`` is model ``m``'s expected score for an average participant and
task; its 95% interval is the Wald interval ``beta_m +- 1.96 se``. The intraclass correlations
are ``s2_participant / total`` and ``s2_task / total`` with ``total`` the sum of the three
variances: the share of a score's variance due to who rated it and to what the task was.

A model with fewer than ``MIN_RATINGS`` ratings is left out of the fit (its numbers are None
with a warning), a dimension with fewer than two models left is not fitted, and a factor with
a single level has no variance component (None). A fit that fails, does not converge or whose
fixed-effect covariance is not finite and positive definite (a *singular* fit) gives None
numbers and a warning, never an interval. A variance component estimated at 0 (the boundary) is
reported as 0 with a warning.

**Pass/fail.** ``logit P(pass) = gamma_m`` per model, fitted by GEE (binomial, logit link,
exchangeable working correlation within a participant, robust sandwich errors clustered by
participant). A model's estimate is its pass probability ``expit(gamma_m)`` with the Wald
interval of ``gamma_m`` mapped through ``expit`` (so it stays in [0, 1]). A model with fewer than
``MIN_RATINGS`` runs, or whose runs all passed or all failed (no finite estimate), is left out
with a warning; fewer than ``MIN_CLUSTERS`` participants gives no fit.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_RATINGS = 5
"""The fewest ratings (or runs) of a model for it to be fitted: the intervals' minimum n."""
MIN_CLUSTERS = 2
"""The fewest participants for participant-clustered (sandwich) errors."""
Z95 = 1.959963984540054
BOUNDARY = 1e-4
"""A variance component below this share of the total variance is reported as on the boundary."""
OPTIMISERS = ("lbfgs", "bfgs", "powell")
"""Tried in turn by statsmodels: L-BFGS converges on boundary fits where its default (BFGS)
often reports failure."""


@dataclass(frozen=True)
class Score:
    """One rating: ``score`` of ``model`` by ``participant`` on ``task``."""

    model: str
    participant: str
    task: str
    score: float


@dataclass(frozen=True)
class Effect:
    model: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True)
class MixedFit:
    """One dimension's fit. ``contrast(a, b)`` gives the difference of two fitted models'
    effects with its Wald p-value."""

    n: int
    effects: list[Effect]
    variance: dict[str, float | None]
    icc: dict[str, float | None]
    warnings: list[str] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    cov: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return bool(self.params)

    def contrast(self, a: str, b: str) -> tuple[float, float] | None:
        """``(beta_a - beta_b, two-sided Wald p)``, or None if either model was not fitted."""
        if a not in self.params or b not in self.params:
            return None
        from scipy.stats import norm  # type: ignore[import-untyped, unused-ignore]

        diff = self.params[a] - self.params[b]
        var = self.cov[a, a] + self.cov[b, b] - 2.0 * self.cov[a, b]
        if not var > 0.0 or not math.isfinite(var):
            return None
        return diff, float(2.0 * norm.sf(abs(diff) / math.sqrt(var)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "model_effects": [e.to_dict() for e in self.effects],
            "variance": dict(self.variance),
            "icc": dict(self.icc),
        }


def _nulls(
    n: int,
    models: Sequence[str],
    notes: list[str],
    factors: Sequence[str] = ("participant", "task"),
) -> MixedFit:
    return MixedFit(
        n=n,
        effects=[Effect(m, None, None, None) for m in models],
        variance=dict.fromkeys((*factors, "residual"), None),
        icc=dict.fromkeys(factors, None),
        warnings=notes,
    )


def _indicators(labels: Sequence[str]) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float64]]]:
    levels = sorted(set(labels))
    index = {level: i for i, level in enumerate(levels)}
    matrix = np.zeros((len(labels), len(levels)))
    matrix[np.arange(len(labels)), [index[v] for v in labels]] = 1.0
    return levels, matrix


def _positive_definite(matrix: np.ndarray[Any, np.dtype[np.float64]]) -> bool:
    if not np.all(np.isfinite(matrix)):
        return False
    try:
        np.linalg.cholesky((matrix + matrix.T) / 2.0)
    except np.linalg.LinAlgError:
        return False
    return True


def fit_mixed(scores: Sequence[Score], *, label: str = "ratings") -> MixedFit:
    """Fit ``score ~ 0 + model + (1 | participant) + (1 | task)`` by REML (see the module)."""
    from statsmodels.regression.mixed_linear_model import (  # type: ignore[import-untyped, unused-ignore]
        MixedLM,
        VCSpec,
    )

    counts = Counter(s.model for s in scores)
    models = sorted(counts)
    notes = [
        f"{label}: {m} has {counts[m]} rating(s), fewer than {MIN_RATINGS}: left out of the fit"
        for m in models
        if counts[m] < MIN_RATINGS
    ]
    kept = [s for s in scores if counts[s.model] >= MIN_RATINGS]
    fitted_models = sorted({s.model for s in kept})
    if len(fitted_models) < 2:
        notes.append(f"{label}: fewer than 2 models with {MIN_RATINGS} ratings or more: no fit")
        return _nulls(len(scores), models, notes)
    factors = []
    for factor in ("participant", "task"):
        if len({getattr(s, factor) for s in kept}) >= 2:
            factors.append(factor)
        else:
            notes.append(f"{label}: a single {factor}: no {factor} variance")
    y = np.array([s.score for s in kept], dtype=float)
    _, exog = _indicators([s.model for s in kept])
    names, colnames, mats = [], [], []
    for factor in factors:
        levels, matrix = _indicators([getattr(s, factor) for s in kept])
        names.append(factor)
        colnames.append([[f"{factor}[{level}]" for level in levels]])
        mats.append([matrix])
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            if factors:
                model = MixedLM(y, exog, np.zeros(len(y)), exog_vc=VCSpec(names, colnames, mats))
                result = model.fit(reml=True, method=list(OPTIMISERS))
            else:
                result = None
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
        notes.append(f"{label}: the mixed model could not be fitted ({exc}): no estimates")
        return _nulls(len(scores), models, notes)
    if result is None:  # no random factor left: ordinary least squares is the model
        return _ols(kept, models, fitted_models, len(scores), notes, label)
    k = len(fitted_models)
    params = np.asarray(result.fe_params, dtype=float)
    cov = np.asarray(result.cov_params(), dtype=float)[:k, :k]
    converged = bool(getattr(result, "converged", False))
    # statsmodels retries with other optimisers when one fails; only the final fit counts
    if not converged or not _positive_definite(cov) or not np.all(np.isfinite(params)):
        notes.append(f"{label}: singular or non-converged mixed-model fit: no estimates")
        return _nulls(len(scores), models, notes, ("participant", "task"))
    vcomp = dict(zip(names, np.asarray(result.vcomp, dtype=float), strict=True))
    residual = float(result.scale)
    scale_total = residual + sum(max(0.0, float(v)) for v in vcomp.values())
    for factor, value in vcomp.items():
        if value <= BOUNDARY * scale_total:
            notes.append(f"{label}: the {factor} variance is estimated at 0 (boundary fit)")
    variance: dict[str, float | None] = {
        f: (max(0.0, float(vcomp[f])) if f in vcomp else None) for f in ("participant", "task")
    }
    variance["residual"] = residual
    total = residual + sum(variance[f] or 0.0 for f in ("participant", "task"))
    icc: dict[str, float | None] = {}
    for factor in ("participant", "task"):
        value = variance[factor]
        icc[factor] = value / total if value is not None and total > 0 else None
    se = np.sqrt(np.diag(cov))
    by_model = {m: i for i, m in enumerate(fitted_models)}
    effects = []
    for m in models:
        if m not in by_model:
            effects.append(Effect(m, None, None, None))
            continue
        i = by_model[m]
        effects.append(
            Effect(
                m, float(params[i]), float(params[i] - Z95 * se[i]), float(params[i] + Z95 * se[i])
            )
        )
    return MixedFit(
        n=len(kept),
        effects=effects,
        variance=variance,
        icc=icc,
        warnings=notes,
        params={m: float(params[i]) for m, i in by_model.items()},
        cov={(a, b): float(cov[i, j]) for a, i in by_model.items() for b, j in by_model.items()},
    )


def _ols(
    kept: Sequence[Score],
    models: list[str],
    fitted: list[str],
    n: int,
    notes: list[str],
    label: str,
) -> MixedFit:
    """Cell means with a pooled residual variance when neither factor has two levels."""
    y = np.array([s.score for s in kept], dtype=float)
    groups = {m: y[[i for i, s in enumerate(kept) if s.model == m]] for m in fitted}
    dof = len(y) - len(fitted)
    residual = (
        float(sum(((v - v.mean()) ** 2).sum() for v in groups.values()) / dof) if dof else 0.0
    )
    if not residual > 0.0:
        notes.append(f"{label}: no residual variance (every score equal within a model): no fit")
        return _nulls(n, models, notes)
    params = {m: float(v.mean()) for m, v in groups.items()}
    var = {m: residual / len(v) for m, v in groups.items()}
    effects = [
        Effect(
            m, params[m], params[m] - Z95 * math.sqrt(var[m]), params[m] + Z95 * math.sqrt(var[m])
        )
        if m in params
        else Effect(m, None, None, None)
        for m in models
    ]
    return MixedFit(
        n=len(kept),
        effects=effects,
        variance={"participant": None, "task": None, "residual": residual},
        icc={"participant": None, "task": None},
        warnings=notes,
        params=params,
        cov={(a, b): (var[a] if a == b else 0.0) for a in params for b in params},
    )


@dataclass(frozen=True)
class Run:
    """One execution against tests: did ``model``'s answer pass, and whose task was it."""

    model: str
    participant: str
    passed: bool


@dataclass(frozen=True)
class PassRate:
    model: str
    n: int
    passed: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n": self.n,
            "passed": self.passed,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True)
class PassFailFit:
    n: int
    clusters: int
    models: list[PassRate]
    warnings: list[str] = field(default_factory=list)
    log_odds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "clusters": self.clusters,
            "models": [m.to_dict() for m in self.models],
        }


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def fit_pass_fail(runs: Sequence[Run]) -> PassFailFit:
    """GEE of pass/fail by model, clustered by participant (see the module)."""
    from statsmodels.genmod import families  # type: ignore[import-untyped, unused-ignore]
    from statsmodels.genmod.cov_struct import Exchangeable  # type: ignore[import-untyped, unused-ignore]
    from statsmodels.genmod.generalized_estimating_equations import (  # type: ignore[import-untyped, unused-ignore]
        GEE,
    )

    totals = Counter(r.model for r in runs)
    passes = Counter(r.model for r in runs if r.passed)
    models = sorted(totals)
    notes: list[str] = []
    fitted = []
    for m in models:
        if totals[m] < MIN_RATINGS:
            notes.append(f"pass/fail: {m} has {totals[m]} run(s), fewer than {MIN_RATINGS}")
        elif passes[m] in (0, totals[m]):
            notes.append(
                f"pass/fail: every run of {m} {'passed' if passes[m] else 'failed'}: no finite estimate"
            )
        else:
            fitted.append(m)
    kept = [r for r in runs if r.model in fitted]
    clusters = len({r.participant for r in kept})
    estimates: dict[str, tuple[float, float, float]] = {}
    log_odds: dict[str, float] = {}
    if fitted and clusters < MIN_CLUSTERS:
        notes.append(f"pass/fail: fewer than {MIN_CLUSTERS} participants: no clustered errors")
    elif fitted:
        # GEE wants each cluster's rows together
        kept = sorted(kept, key=lambda r: r.participant)
        index = {m: i for i, m in enumerate(fitted)}
        exog = np.zeros((len(kept), len(fitted)))
        exog[np.arange(len(kept)), [index[r.model] for r in kept]] = 1.0
        y = np.array([1.0 if r.passed else 0.0 for r in kept])
        group_index = {p: i for i, p in enumerate(sorted({r.participant for r in kept}))}
        groups = np.array([group_index[r.participant] for r in kept])
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                result = GEE(
                    y, exog, groups, family=families.Binomial(), cov_struct=Exchangeable()
                ).fit()
            params = np.asarray(result.params, dtype=float)
            se = np.asarray(result.bse, dtype=float)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            notes.append(f"pass/fail: the GEE could not be fitted ({exc})")
        else:
            if np.all(np.isfinite(params)) and np.all(np.isfinite(se)) and np.all(se > 0):
                for m, i in index.items():
                    low, high = params[i] - Z95 * se[i], params[i] + Z95 * se[i]
                    estimates[m] = (_expit(params[i]), _expit(low), _expit(high))
                    log_odds[m] = float(params[i])
            else:
                notes.append("pass/fail: singular GEE fit: no estimates")
    rates = []
    for m in models:
        est = estimates.get(m)
        rates.append(
            PassRate(m, totals[m], passes[m], *(est if est is not None else (None, None, None)))
        )
    return PassFailFit(
        n=len(runs),
        clusters=len({r.participant for r in runs}),
        models=rates,
        warnings=notes,
        log_odds=log_odds,
    )
