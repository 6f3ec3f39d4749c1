"""The mixed model and the GEE against statsmodels fitted directly on the same data."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from codearena.stats.mixed import MIN_RATINGS, Run, Score, fit_mixed, fit_pass_fail

pd = pytest.importorskip("pandas")
smf = pytest.importorskip("statsmodels.formula.api")
sm = pytest.importorskip("statsmodels.api")


def simulate(
    seed: int,
    *,
    participants: int = 25,
    tasks: int = 15,
    sd_participant: float = 0.8,
    sd_task: float = 0.5,
    sd_residual: float = 1.0,
    keep: float = 0.6,
) -> tuple[list[Score], dict[str, float]]:
    """Scores from the model itself; returns them with the sample variances of the effects."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, sd_participant, participants)
    v = rng.normal(0, sd_task, tasks)
    means = {"m/a": 3.0, "m/b": 3.6, "m/c": 2.4}
    scores = []
    for p in range(participants):
        for t in range(tasks):
            for model, mean in means.items():
                if rng.random() < keep:
                    y = mean + u[p] + v[t] + rng.normal(0, sd_residual)
                    scores.append(Score(model, f"p{p}", f"t{t}", float(y)))
    return scores, {"participant": float(u.var()), "task": float(v.var())}


def statsmodels_fit(scores: list[Score]) -> Any:
    frame = pd.DataFrame(
        {
            "score": [s.score for s in scores],
            "model": [s.model for s in scores],
            "participant": [s.participant for s in scores],
            "task": [s.task for s in scores],
            "one": 1,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(
            "score ~ 0 + C(model)",
            frame,
            groups="one",
            re_formula="0",
            vc_formula={"participant": "0 + C(participant)", "task": "0 + C(task)"},
        ).fit(reml=True)


def test_estimates_match_statsmodels_formula_fit() -> None:
    scores, _ = simulate(3)
    fit = fit_mixed(scores)
    reference = statsmodels_fit(scores)
    assert fit.warnings == [] and fit.n == len(scores)
    models = [e.model for e in fit.effects]
    assert models == ["m/a", "m/b", "m/c"]
    ci = np.asarray(reference.conf_int())
    for i, effect in enumerate(fit.effects):
        assert effect.estimate == pytest.approx(reference.fe_params.iloc[i], abs=1e-4)
        assert effect.ci_low == pytest.approx(ci[i, 0], abs=1e-4)
        assert effect.ci_high == pytest.approx(ci[i, 1], abs=1e-4)
    vcomp = dict(zip(reference.model.exog_vc.names, reference.vcomp, strict=True))
    assert fit.variance["participant"] == pytest.approx(vcomp["participant"], rel=1e-3)
    assert fit.variance["task"] == pytest.approx(vcomp["task"], rel=1e-3)
    assert fit.variance["residual"] == pytest.approx(reference.scale, rel=1e-4)
    total = vcomp["participant"] + vcomp["task"] + reference.scale
    assert fit.icc["participant"] == pytest.approx(vcomp["participant"] / total, rel=1e-3)
    assert fit.icc["task"] == pytest.approx(vcomp["task"] / total, rel=1e-3)
    # the contrast is the difference of the estimates, its p the Wald test of that difference
    contrast = fit.contrast("m/a", "m/b")
    assert contrast is not None
    cov = np.asarray(reference.cov_params())[:2, :2]
    diff = reference.fe_params.iloc[0] - reference.fe_params.iloc[1]
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert contrast[0] == pytest.approx(diff, abs=1e-4)
    from scipy.stats import norm

    assert contrast[1] == pytest.approx(2 * norm.sf(abs(diff) / se), rel=1e-3)
    assert fit.to_dict()["model_effects"][0] == fit.effects[0].to_dict()


def test_a_simulation_recovers_the_variance_components_roughly() -> None:
    scores, drawn = simulate(
        11, participants=60, tasks=40, sd_participant=0.9, sd_task=0.6, keep=0.5
    )
    fit = fit_mixed(scores)
    assert fit.variance["participant"] == pytest.approx(drawn["participant"], rel=0.25)
    assert fit.variance["task"] == pytest.approx(drawn["task"], rel=0.3)
    assert fit.variance["residual"] == pytest.approx(1.0, rel=0.1)
    means = {e.model: e for e in fit.effects}
    for model, mean in {"m/a": 3.0, "m/b": 3.6, "m/c": 2.4}.items():
        assert means[model].ci_low is not None and means[model].ci_high is not None
        # the drawn effects' sample means shift every model alike, hence the margin
        assert means[model].ci_low - 0.5 < mean < means[model].ci_high + 0.5
    b_minus_a = means["m/b"].estimate - means["m/a"].estimate  # type: ignore[operator]
    assert b_minus_a == pytest.approx(0.6, abs=0.15)


def test_too_few_ratings_give_warnings_and_nulls() -> None:
    few = [Score("m/a", "p1", "t1", 4.0), Score("m/b", "p1", "t1", 2.0)]
    fit = fit_mixed(few, label="quality")
    assert all(e.estimate is None and e.ci_low is None for e in fit.effects)
    assert fit.variance == {"participant": None, "task": None, "residual": None}
    assert fit.icc == {"participant": None, "task": None}
    assert any("fewer than 2 models" in w for w in fit.warnings)
    assert any(f"fewer than {MIN_RATINGS}" in w for w in fit.warnings)
    assert fit.contrast("m/a", "m/b") is None


def test_a_model_below_the_minimum_is_left_out_of_the_fit() -> None:
    scores, _ = simulate(5)
    scores += [Score("m/rare", "p1", "t1", 5.0), Score("m/rare", "p2", "t2", 4.0)]
    fit = fit_mixed(scores)
    rare = next(e for e in fit.effects if e.model == "m/rare")
    assert rare.estimate is None and rare.ci_low is None and rare.ci_high is None
    assert any("m/rare has 2 rating(s)" in w for w in fit.warnings)
    assert all(e.estimate is not None for e in fit.effects if e.model != "m/rare")


def test_identical_scores_are_not_given_an_interval() -> None:
    scores = [
        Score(m, f"p{p}", f"t{t}", 3.0) for m in ("a", "b") for p in range(3) for t in range(3)
    ]
    fit = fit_mixed(scores)
    assert all(e.ci_low is None for e in fit.effects)
    assert fit.warnings


def runs_data(seed: int) -> list[Run]:
    rng = np.random.default_rng(seed)
    runs = []
    for p in range(15):
        skill = rng.normal(0, 0.7)
        for model, base in (("m/a", -0.5), ("m/b", 0.8), ("m/c", 0.0)):
            for _ in range(int(rng.integers(1, 5))):
                prob = 1 / (1 + np.exp(-(base + skill)))
                runs.append(Run(model, f"p{p}", bool(rng.random() < prob)))
    return runs


def test_gee_matches_statsmodels() -> None:
    runs = runs_data(2)
    fit = fit_pass_fail(runs)
    assert fit.warnings == []
    ordered = sorted(runs, key=lambda r: r.participant)
    frame = pd.DataFrame(
        {
            "passed": [1.0 if r.passed else 0.0 for r in ordered],
            "model": [r.model for r in ordered],
            "participant": [r.participant for r in ordered],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = smf.gee(
            "passed ~ 0 + C(model)",
            "participant",
            frame,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Exchangeable(),
        ).fit()
    ci = np.asarray(reference.conf_int())
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for i, row in enumerate(fit.models):
        assert row.estimate == pytest.approx(expit(reference.params.iloc[i]), abs=1e-6)
        assert row.ci_low == pytest.approx(expit(ci[i, 0]), abs=1e-6)
        assert row.ci_high == pytest.approx(expit(ci[i, 1]), abs=1e-6)
        assert row.n == sum(1 for r in runs if r.model == row.model)
        assert 0 <= row.ci_low <= row.estimate <= row.ci_high <= 1
    assert fit.clusters == 15 and fit.n == len(runs)


def test_gee_leaves_out_models_without_a_finite_estimate() -> None:
    runs = runs_data(4)
    runs += [Run("m/perfect", f"p{p}", True) for p in range(6)]
    runs += [Run("m/rare", "p1", True), Run("m/rare", "p2", False)]
    fit = fit_pass_fail(runs)
    by_model = {r.model: r for r in fit.models}
    assert by_model["m/perfect"].estimate is None and by_model["m/perfect"].passed == 6
    assert by_model["m/rare"].estimate is None
    assert by_model["m/a"].estimate is not None
    assert any("m/perfect passed" in w for w in fit.warnings)
    assert any("m/rare has 2 run(s)" in w for w in fit.warnings)
    single = fit_pass_fail([Run("m/a", "p1", i % 2 == 0) for i in range(8)])
    assert single.models[0].estimate is None and single.warnings
