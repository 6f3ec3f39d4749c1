"""Style control: Bradley-Terry with feature differences, against statsmodels fitted directly on
the same design matrix, against today's Bradley-Terry without features, and on votes simulated
with known coefficients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm  # type: ignore[import-untyped]

from codearena.stats import Vote, bradley_terry, leaderboard
from codearena.stats.style_control import normalise_differences, style_control

from .test_bradley_terry import simulate

STRENGTHS = np.array([0.8, 0.3, 0.0, -0.2, -0.9])
NAMES = ["tests_passed", "length"]
RATIO = [False, True]


def simulate_styled(
    n: int, beta: tuple[float, float], seed: int, tie_rate: float = 0.1, raters: int = 0
) -> tuple[list[Vote], np.ndarray, np.ndarray]:
    """Votes drawn from the style-control model with coefficients ``beta`` on the normalised
    differences of (tests passed, length); ``raters`` > 0 names the voters (round robin)."""
    rng = np.random.default_rng(seed)
    k = len(STRENGTHS)
    pairs = np.array([rng.choice(k, size=2, replace=False) for _ in range(n)])
    first = np.column_stack([rng.random(n) < 0.6, rng.lognormal(7.0, 0.6, n).round()])
    second = np.column_stack([rng.random(n) < 0.6, rng.lognormal(7.0, 0.6, n).round()])
    first[rng.random(n) < 0.1, 0] = np.nan  # some answers never ran against tests
    z, _ = normalise_differences(first, second, RATIO)
    eta = STRENGTHS[pairs[:, 0]] - STRENGTHS[pairs[:, 1]] + z @ np.array(beta)
    p = 1.0 / (1.0 + np.exp(-eta))
    u = rng.random(n)
    winners = np.where(u < tie_rate, "tie", np.where(rng.random(n) < p, "a", "b"))
    votes = [
        Vote(
            f"m{i}",
            f"m{j}",
            str(w),  # type: ignore[arg-type]
            participant=f"r{v % raters}" if raters else None,
        )
        for v, ((i, j), w) in enumerate(zip(pairs.tolist(), winners.tolist(), strict=True))
    ]
    return votes, first, second


def test_normalisation() -> None:
    first = np.array([[1.0, 300.0], [0.0, 100.0], [np.nan, 10.0], [1.0, 5.0]])
    second = np.array([[0.0, 100.0], [1.0, 300.0], [1.0, 10.0], [1.0, 5.0]])
    z, rms = normalise_differences(first, second, RATIO)
    # tests: differences 1, -1, unknown -> 0, 0; length: 200/401, -200/401, 0, 0
    assert rms.tolist() == pytest.approx([math.sqrt(0.5), math.sqrt(0.5) * 200 / 401])
    assert z[:, 0].tolist() == pytest.approx([math.sqrt(2), -math.sqrt(2), 0.0, 0.0])
    assert z[:, 1].tolist() == pytest.approx([math.sqrt(2), -math.sqrt(2), 0.0, 0.0])
    # swapping the sides swaps the signs (no intercept)
    swapped, _ = normalise_differences(second, first, RATIO)
    assert np.allclose(swapped, -z)


def test_without_features_it_is_todays_bradley_terry() -> None:
    votes = simulate([1.0, 0.5, 0.0, -0.5, 0.2], n=2500, seed=4, tie_rate=0.15)
    votes.append(Vote("m0", "m1", "both_bad"))
    none = np.zeros((len(votes), 0))
    fit = style_control(votes, none, none, [], rounds=300, seed=2)
    point = bradley_terry(votes)
    assert fit.coefficients == {}
    for row in fit.rows:
        assert row.rating == pytest.approx(point[row.model], abs=1e-6)
    board = {r.model: r for r in leaderboard(votes, rounds=300, seed=2)}
    for row in fit.rows:  # another draw of the same bootstrap: close, not equal
        assert row.ci_low == pytest.approx(board[row.model].ci_low, abs=5.0)
        assert row.ci_high == pytest.approx(board[row.model].ci_high, abs=5.0)
        assert (row.battles, row.wins, row.ties) == (
            board[row.model].battles,
            board[row.model].wins,
            board[row.model].ties,
        )
    dropped = style_control(votes, none, none, [], rounds=50, both_bad="drop")
    assert sum(r.battles for r in dropped.rows) == sum(r.battles for r in fit.rows) - 2


def _design(votes: list[Vote], z: np.ndarray) -> np.ndarray:
    """Model columns m1..m4 (m0 the reference) and the normalised differences."""
    x = np.zeros((len(votes), len(STRENGTHS) - 1))
    for row, vote in enumerate(votes):
        i, j = int(vote.model_a[1:]), int(vote.model_b[1:])
        if i:
            x[row, i - 1] += 1.0
        if j:
            x[row, j - 1] -= 1.0
    return np.hstack([x, z])


def _ours(fit_rows: list, coefficients: dict) -> np.ndarray:  # type: ignore[type-arg]
    rating = {r.model: r.rating for r in fit_rows}
    theta = [(rating[f"m{i}"] - rating["m0"]) * math.log(10) / 400 for i in range(1, 5)]
    return np.array(theta + [coefficients[n].value for n in NAMES])


def test_matches_statsmodels_logit_on_decisive_votes() -> None:
    votes, first, second = simulate_styled(3000, (0.7, -0.3), seed=1, tie_rate=0.0)
    fit = style_control(votes, first, second, NAMES, ratio=RATIO, rounds=20)
    z, _ = normalise_differences(first, second, RATIO)
    y = np.array([v.winner == "a" for v in votes], dtype=float)
    reference = sm.Logit(y, _design(votes, z)).fit(disp=0, tol=1e-12)
    assert _ours(fit.rows, fit.coefficients) == pytest.approx(reference.params, abs=1e-5)


def test_matches_statsmodels_glm_with_ties_as_half_wins() -> None:
    votes, first, second = simulate_styled(3000, (0.7, -0.3), seed=2, tie_rate=0.2)
    fit = style_control(votes, first, second, NAMES, ratio=RATIO, rounds=20)
    z, _ = normalise_differences(first, second, RATIO)
    x = _design(votes, z)
    # a tie is half a win for each side: two rows of weight 1/2
    rows, ys, weights = [], [], []
    for row, vote in enumerate(votes):
        for outcome, weight in ((1.0, {"a": 1.0, "b": 0.0}), (0.0, {"a": 0.0, "b": 1.0})):
            w = weight.get(vote.winner, 0.5)
            if w:
                rows.append(x[row])
                ys.append(outcome)
                weights.append(w)
    model = sm.GLM(np.array(ys), np.array(rows), family=sm.families.Binomial(), var_weights=weights)
    reference = model.fit(tol=1e-12)
    assert _ours(fit.rows, fit.coefficients) == pytest.approx(reference.params, abs=1e-5)


def test_recovers_a_known_effect_of_passing_the_tests() -> None:
    votes, first, second = simulate_styled(4000, (0.6, 0.0), seed=3, tie_rate=0.0, raters=200)
    fit = style_control(
        votes, first, second, NAMES, ratio=RATIO, rounds=400, bootstrap="participants"
    )
    passed, length = fit.coefficients["tests_passed"], fit.coefficients["length"]
    assert passed.ci_low is not None and passed.ci_high is not None and passed.value is not None
    assert passed.ci_low < 0.6 < passed.ci_high
    assert passed.value == pytest.approx(0.6, abs=0.1)
    assert passed.ci_low > 0.3  # the interval is informative, not just wide
    assert length.ci_low is not None and length.ci_high is not None
    assert length.ci_low < 0.0 < length.ci_high
    assert {r.bootstrap for r in fit.rows} == {"participants"}
    # the controlled ratings recover the strengths
    rating = {r.model: r.rating for r in fit.rows}
    truth = 1000 + 400 * (STRENGTHS - STRENGTHS.mean()) / math.log(10)
    for i, expected in enumerate(truth):
        assert rating[f"m{i}"] == pytest.approx(expected, abs=25.0)


def test_no_style_effect_gives_intervals_around_zero() -> None:
    votes, first, second = simulate_styled(3000, (0.0, 0.0), seed=5)
    fit = style_control(votes, first, second, NAMES, ratio=RATIO, rounds=400, seed=1)
    for coefficient in fit.coefficients.values():
        assert coefficient.ci_low is not None and coefficient.ci_high is not None
        assert coefficient.ci_low < 0.0 < coefficient.ci_high


def test_a_feature_that_never_differs_has_no_coefficient() -> None:
    votes, first, second = simulate_styled(500, (0.5, 0.0), seed=6)
    first[:, 1] = second[:, 1] = 100.0
    fit = style_control(votes, first, second, NAMES, ratio=RATIO, rounds=50)
    assert fit.coefficients["length"].value is None
    assert "never differ" in (fit.coefficients["length"].note or "")
    assert fit.coefficients["tests_passed"].value is not None
    assert fit.coefficients["length"].to_dict()["rms"] == 0.0


def test_a_separated_model_keeps_an_open_interval() -> None:
    votes = simulate([0.5, 0.0, -0.5], n=300, seed=8, tie_rate=0.0)
    votes += [Vote("top", "m0", "a")] * 4 + [Vote("m1", "top", "b")] * 3
    features = np.ones((len(votes), 1))
    fit = style_control(votes, features, features, ["x"], rounds=50)
    top = next(r for r in fit.rows if r.model == "top")
    assert top.ci_high is None and top.ci_note is not None and top.warnings
    assert all(r.ci_low is not None for r in fit.rows if r.model != "top")
