"""Bradley-Terry fits against choix, closed forms and the tie / flag rules."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from codearena.stats import Vote, bradley_terry
from codearena.stats.bradley_terry import aggregate, fit_log_strengths

LOG10 = math.log(10.0)


def simulate(strengths: list[float], n: int, seed: int, tie_rate: float = 0.0) -> list[Vote]:
    rng = np.random.default_rng(seed)
    k = len(strengths)
    theta = np.array(strengths)
    votes = []
    for _ in range(n):
        i, j = rng.choice(k, size=2, replace=False)
        if rng.random() < tie_rate:
            winner = "tie"
        else:
            winner = "a" if rng.random() < 1 / (1 + math.exp(theta[j] - theta[i])) else "b"
        votes.append(Vote(f"m{i}", f"m{j}", winner))  # type: ignore[arg-type]
    return votes


def choix_ratings(votes: list[Vote]) -> dict[str, float]:
    """Reference: choix's maximum-likelihood fit, ties as one win each way with every decisive
    vote doubled (the same likelihood as half a win each, up to a factor of 2)."""
    models = sorted({v.model_a for v in votes} | {v.model_b for v in votes})
    index = {m: i for i, m in enumerate(models)}
    data: list[tuple[int, int]] = []
    for v in votes:
        a, b = index[v.model_a], index[v.model_b]
        if v.winner == "a":
            data += [(a, b), (a, b)]
        elif v.winner == "b":
            data += [(b, a), (b, a)]
        else:
            data += [(a, b), (b, a)]
    params = choix.opt_pairwise(len(models), data, alpha=1e-9, method="Newton-CG", tol=1e-12)
    params = params - params.mean()
    return {m: 1000 + 400 * params[index[m]] / LOG10 for m in models}


@pytest.mark.parametrize("tie_rate", [0.0, 0.2])
def test_matches_choix(tie_rate: float) -> None:
    votes = simulate([1.2, 0.6, 0.0, -0.3, -1.0, 0.4], n=3000, seed=7, tie_rate=tie_rate)
    ours = bradley_terry(votes)
    reference = choix_ratings(votes)
    assert sorted(ours, key=ours.__getitem__) == sorted(reference, key=reference.__getitem__)
    for model in reference:
        assert ours[model] == pytest.approx(reference[model], abs=0.05)


def test_matches_choix_ilsr_without_ties() -> None:
    votes = simulate([0.9, 0.1, -0.2, -0.8], n=2000, seed=3)
    models = sorted({v.model_a for v in votes} | {v.model_b for v in votes})
    index = {m: i for i, m in enumerate(models)}
    data = [
        (index[v.model_a], index[v.model_b])
        if v.winner == "a"
        else (index[v.model_b], index[v.model_a])
        for v in votes
    ]
    params = choix.ilsr_pairwise(len(models), data, tol=1e-12)
    ours = bradley_terry(votes)
    for m in models:
        for n in models:
            expected = 400 * (params[index[m]] - params[index[n]]) / LOG10
            assert ours[m] - ours[n] == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize(("wins", "losses"), [(30, 10), (7, 3), (1, 1), (2, 50)])
def test_two_models_closed_form(wins: int, losses: int) -> None:
    votes = [Vote("x", "y", "a")] * wins + [Vote("y", "x", "a")] * losses
    ratings = bradley_terry(votes)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(wins / losses), abs=1e-3)
    assert (ratings["x"] + ratings["y"]) / 2 == pytest.approx(1000.0)


def test_scale_and_base() -> None:
    votes = [Vote("x", "y", "a")] * 10 + [Vote("x", "y", "b")]
    ratings = bradley_terry(votes, scale=LOG10, base=0.0)  # natural-log strengths
    assert ratings["x"] - ratings["y"] == pytest.approx(math.log(10), abs=1e-4)
    assert ratings["x"] + ratings["y"] == pytest.approx(0.0, abs=1e-9)


def test_ties_are_half_wins() -> None:
    # x beats y 3 times, loses twice, ties twice: 4 "wins" against 3.
    votes = [Vote("x", "y", "a")] * 3 + [Vote("y", "x", "a")] * 2 + [Vote("x", "y", "tie")] * 2
    ratings = bradley_terry(votes)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(4 / 3), abs=1e-3)


def test_tie_weight_is_configurable() -> None:
    votes = [Vote("x", "y", "a")] * 3 + [Vote("y", "x", "a")] + [Vote("x", "y", "tie")] * 2
    ratings = bradley_terry(votes, tie_weight=0.0)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(3), abs=1e-3)
    ratings = bradley_terry(votes, tie_weight=1.0)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(5 / 3), abs=1e-3)


def test_symmetric_ties_give_equal_ratings() -> None:
    votes = [Vote("x", "y", "tie")] * 5 + [Vote("y", "z", "both_bad")] * 4
    votes += [Vote("x", "z", "a"), Vote("z", "x", "a")]
    ratings = bradley_terry(votes)
    assert ratings["x"] == pytest.approx(ratings["y"], abs=1e-6)
    assert ratings["y"] == pytest.approx(ratings["z"], abs=1e-6)


def test_both_bad_as_tie_or_dropped() -> None:
    votes = [Vote("x", "y", "a")] * 6 + [Vote("y", "x", "a")] * 2 + [Vote("x", "y", "both_bad")] * 4
    as_tie = bradley_terry(votes)
    assert as_tie["x"] - as_tie["y"] == pytest.approx(400 * math.log10(8 / 4), abs=1e-3)
    dropped = bradley_terry(votes, both_bad="drop")
    assert dropped["x"] - dropped["y"] == pytest.approx(400 * math.log10(6 / 2), abs=1e-3)
    only_both_bad = [Vote("p", "q", "both_bad")]
    assert bradley_terry(only_both_bad, both_bad="drop") == {}


def test_flagged_votes_excluded_by_default() -> None:
    votes = [Vote("x", "y", "a")] * 4 + [Vote("x", "y", "b")] * 4
    votes += [Vote("x", "y", "a", flagged=True)] * 8 + [Vote("x", "w", "a", flagged=True)]
    default = bradley_terry(votes)
    assert set(default) == {"x", "y"}
    assert default["x"] == pytest.approx(default["y"], abs=1e-6)
    included = bradley_terry(votes, include_flagged=True)
    assert set(included) == {"w", "x", "y"}
    assert included["x"] > included["y"]


def test_orientation_does_not_matter() -> None:
    votes = simulate([0.5, 0.0, -0.5], n=300, seed=1, tie_rate=0.1)
    flipped = [
        Vote(v.model_b, v.model_a, {"a": "b", "b": "a"}.get(v.winner, v.winner))  # type: ignore[arg-type]
        for v in votes
    ]
    ours, theirs = bradley_terry(votes), bradley_terry(flipped)
    for m in ours:
        assert ours[m] == pytest.approx(theirs[m], abs=1e-9)


def test_unbeaten_model_stays_finite_and_on_top() -> None:
    votes = [Vote("x", "y", "a")] * 5 + [Vote("x", "z", "a")] * 3
    votes += [Vote("y", "z", "a")] * 3 + [Vote("z", "y", "a")] * 2
    ratings = bradley_terry(votes)
    assert all(math.isfinite(r) for r in ratings.values())
    assert ratings["x"] > ratings["y"] > ratings["z"]
    # the unpenalised MLE would put x at infinity; the y-z difference is still the data's
    assert ratings["y"] - ratings["z"] == pytest.approx(400 * math.log10(3 / 2), abs=1.0)


def test_disconnected_groups_are_each_centred() -> None:
    votes = [Vote("a1", "a2", "a")] * 3 + [Vote("a1", "a2", "b")]
    votes += [Vote("b1", "b2", "a")] * 2 + [Vote("b1", "b2", "b")] * 2
    ratings = bradley_terry(votes)
    assert ratings["a1"] - ratings["a2"] == pytest.approx(400 * math.log10(3), abs=0.01)
    assert ratings["b1"] == pytest.approx(ratings["b2"], abs=1e-6)
    assert sum(ratings.values()) / 4 == pytest.approx(1000.0)


def test_batched_fit_equals_separate_fits() -> None:
    counts = aggregate(simulate([0.3, 0.0, -0.4, 0.8], n=500, seed=5, tie_rate=0.1))
    rng = np.random.default_rng(0)
    batch = rng.multinomial(counts.total, counts.counts / counts.total, size=5)
    together = fit_log_strengths(counts.win_matrices(batch, 0.5))
    for r in range(5):
        alone = fit_log_strengths(counts.win_matrices(batch[r : r + 1], 0.5))[0]
        np.testing.assert_allclose(together[r], alone, atol=1e-9)


def test_no_votes_and_bad_votes() -> None:
    assert bradley_terry([]) == {}
    with pytest.raises(ValueError, match="two different models"):
        Vote("x", "x", "a")
    with pytest.raises(ValueError, match="winner must be one of"):
        Vote("x", "y", "draw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both_bad"):
        bradley_terry([Vote("x", "y", "a")], both_bad="keep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tie_weight"):
        bradley_terry([Vote("x", "y", "tie")], tie_weight=1.5)
