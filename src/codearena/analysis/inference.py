"""``codearena analyze``: a study's ratings, runs and votes turned into the inference of
``codearena.stats.mixed`` and ``codearena.stats.pairwise`` (see docs/stats.md, "Inference").

* Ratings: every 1-5 score of the platform's ratings (``correctness``, ``quality``,
  ``usefulness``; the participant is the rater, the task the study task's pipeline task) and of
  the study's imported ratings (by their ``dimension``; participant and task are the file's
  labels, prefixed ``imported:`` so they never meet a platform id), one mixed model per dimension.
* Pass/fail: the latest run against tests of every answer of a study task (the dashboard's
  rule, ``analysis.figures.units``; a run without tests, verdict ``ran``, is left out),
  clustered by the study task's participant.
* Pairwise: per dimension, each pair of fitted models (the mixed model's contrast and its Wald
  p, Cliff's delta of the raw scores); for votes, each pair with head-to-head votes (battles
  not flagged as self-identified, and imported votes; a "both bad" vote is a tie): the win
  probability and the sign test. Holm's correction runs within each family: one per rating
  dimension, one for the votes.

Data is read only through ``store.study_rows`` (``analysis.load.load_study`` and the
``imported_ratings`` select).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from codearena.analysis.figures import units
from codearena.analysis.load import StudyData, battle_votes, load_study
from codearena.stats.mixed import MIN_RATINGS, MixedFit, Run, Score, fit_mixed, fit_pass_fail
from codearena.stats.pairwise import cliffs_delta, compare_votes, holm
from codearena.store import Store, study_rows

PLATFORM_DIMENSIONS = ("correctness", "quality", "usefulness")
IMPORTED = "imported:"


def rating_scores(store: Store, data: StudyData) -> dict[str, list[Score]]:
    """Every score of the study per dimension (sorted by name)."""
    by_id = {st.id: st for st in data.study_tasks}
    scores: defaultdict[str, list[Score]] = defaultdict(list)
    for rating in data.ratings:
        study_task = by_id.get(rating.study_task_id)
        task = (study_task.task_id if study_task else None) or rating.study_task_id
        for dimension in PLATFORM_DIMENSIONS:
            value = getattr(rating, dimension)
            if value is not None:
                scores[dimension].append(
                    Score(rating.model, rating.participant_id, task, float(value))
                )
    with store.session() as session:
        for row in session.scalars(study_rows.imported_ratings(data.study.id)):
            scores[row.dimension].append(
                Score(row.model, IMPORTED + row.participant, IMPORTED + row.task, float(row.score))
            )
    return {d: scores[d] for d in sorted(scores)}


def pass_fail_runs(data: StudyData) -> list[Run]:
    return [
        Run(u.result.model, str(u.groups["participant"]), bool(u.result.passed))
        for u in units(data)
        if u.result.passed is not None
    ]


def _rating_pairs(dimension: str, scores: list[Score], fit: MixedFit) -> list[dict[str, Any]]:
    counts = Counter(s.model for s in scores)
    models = sorted(m for m in counts if counts[m] >= MIN_RATINGS)
    values = {m: [s.score for s in scores if s.model == m] for m in models}
    pairs = []
    for a, b in combinations(models, 2):
        contrast = fit.contrast(a, b)
        pairs.append(
            {
                "kind": "rating",
                "dimension": dimension,
                "a": a,
                "b": b,
                "n": counts[a] + counts[b],
                "effect": contrast[0] if contrast else None,
                "effect_size": cliffs_delta(values[a], values[b]),
                "p": contrast[1] if contrast else None,
                "p_holm": None,
            }
        )
    return pairs


def _vote_pairs(data: StudyData) -> list[dict[str, Any]]:
    tally: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for vote, _ in battle_votes(data):
        if vote.flagged:
            continue
        a, b = sorted((vote.model_a, vote.model_b))
        cell = tally[a, b]
        if vote.winner in ("tie", "both_bad"):
            cell[2] += 1
        elif (vote.winner == "a") == (vote.model_a == a):
            cell[0] += 1
        else:
            cell[1] += 1
    pairs = []
    for (a, b), (wins_a, wins_b, ties) in sorted(tally.items()):
        result = compare_votes(a, b, wins_a, wins_b, ties)
        probability = result.win_probability
        pairs.append(
            {
                "kind": "vote",
                "dimension": None,
                "a": a,
                "b": b,
                "n": result.n,
                "effect": probability - 0.5 if probability is not None else None,
                "effect_size": probability,
                "p": result.p,
                "p_holm": None,
            }
        )
    return pairs


def _apply_holm(pairs: list[dict[str, Any]]) -> None:
    families: defaultdict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for pair in pairs:
        families[pair["kind"], pair["dimension"]].append(pair)
    for family in families.values():
        for pair, adjusted in zip(family, holm([p["p"] for p in family]), strict=True):
            pair["p_holm"] = adjusted


def analyze(store: Store, study_id: str) -> dict[str, Any]:
    """The study's inference as the JSON ``codearena analyze --json`` prints (docs/stats.md)."""
    return analyze_data(store, load_study(store, study_id))


def analyze_data(store: Store, data: StudyData) -> dict[str, Any]:
    """``analyze`` of already loaded rows (the report loads them once); ``store`` gives the
    imported ratings."""
    notes: list[str] = []
    ratings: dict[str, Any] = {}
    pairwise: list[dict[str, Any]] = []
    for dimension, scores in rating_scores(store, data).items():
        fit = fit_mixed(scores, label=dimension)
        ratings[dimension] = fit.to_dict()
        notes.extend(fit.warnings)
        pairwise.extend(_rating_pairs(dimension, scores, fit))
    if not ratings:
        notes.append("no ratings: no mixed models")
    runs = pass_fail_runs(data)
    pass_fail = fit_pass_fail(runs)
    notes.extend(pass_fail.warnings)
    if not runs:
        notes.append("no runs against tests: no pass/fail model")
    votes = _vote_pairs(data)
    if not votes:
        notes.append("no votes: no pairwise vote comparisons")
    pairwise.extend(votes)
    _apply_holm(pairwise)
    return {
        "ratings": ratings,
        "pass_fail": pass_fail.to_dict(),
        "pairwise": pairwise,
        "warnings": notes,
    }
