"""The figures of a study, section by section, from the rows ``load.load_study`` returns.

Each function is a thin layer over ``codearena.stats``: it picks the rows, turns them into the
plain records the statistics take, and returns JSON-ready dicts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from codearena import stats
from codearena.analysis.load import Groups, StudyData
from codearena.stats.bradley_terry import counted
from codearena.store.models import Execution, Generation
from codearena.store.platform_models import Rating

DIMENSIONS = ("correctness", "quality", "usefulness")
"""The 1-5 rating dimensions."""
MINUTES = "minutes_to_usable"
OBJECTIVES = ("pass", "findings_per_100_lines")
LEVELS = range(1, 6)


@dataclass(frozen=True)
class Unit:
    """One generation as seen from one study task (a task shared by several participants gives
    one unit per participant), with its measurements and the groups it belongs to."""

    generation_id: str
    result: stats.TaskResult
    groups: Groups
    minutes: tuple[float, ...] = ()


@dataclass(frozen=True)
class RatedRow:
    rating: Rating
    groups: Groups


def latest_verdict(executions: Sequence[Execution]) -> bool | None:
    """Passed or not by the latest run against tests; None if never run against tests.

    A run without tests (``test_kind`` null; verdict ``ran`` at exit 0, or ``error``, ``timeout``,
    ...) checked nothing, so it is neither a pass nor a failure: it stays out of the pass rate's
    numerator and denominator. A stored ``ran`` is never a pass, whatever its ``test_kind``."""
    tested = [e for e in executions if e.test_kind and e.verdict != "ran"]
    if not tested:
        return None
    return tested[-1].verdict == "passed"


def _tokens(generation: Generation) -> int | None:
    parts = [generation.prompt_tokens, generation.completion_tokens]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def units(data: StudyData) -> list[Unit]:
    """Every (study task, generation) pair with its TaskResult."""
    runs: defaultdict[str, list[Execution]] = defaultdict(list)
    for execution in data.executions:  # ordered oldest first
        runs[execution.generation_id].append(execution)
    minutes: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for rating in data.ratings:
        if rating.generation_id and rating.minutes_to_usable is not None:
            minutes[(rating.study_task_id, rating.generation_id)].append(rating.minutes_to_usable)
    result = []
    for study_task in data.study_tasks:
        groups = data.task_groups(study_task)
        for generation in data.generations_of(study_task.task_id):
            metrics = data.metrics.get(generation.id)
            task_result = stats.TaskResult(
                model=generation.model,
                passed=latest_verdict(runs[generation.id]),
                lines=metrics.lines if metrics else None,
                findings=metrics.lint_count + metrics.security_count if metrics else None,
                ttft_s=_seconds(generation.ttft_ms),
                latency_s=_seconds(generation.latency_ms),
                tokens=_tokens(generation),
                cost_usd=generation.cost_usd,
                minutes_to_fix=stats.mean_or_none(minutes[(study_task.id, generation.id)]),
            )
            spent = tuple(minutes[(study_task.id, generation.id)])
            result.append(Unit(generation.id, task_result, groups, spent))
    return result


def distinct(rows: Iterable[Unit]) -> list[stats.TaskResult]:
    """One TaskResult per generation; its minutes to fix averaged over the ratings of the
    given units (a generation rated in several study tasks is counted once)."""
    first: dict[str, Unit] = {}
    minutes: defaultdict[str, list[float]] = defaultdict(list)
    for unit in rows:
        first.setdefault(unit.generation_id, unit)
        minutes[unit.generation_id].extend(unit.minutes)
    return [
        replace(unit.result, minutes_to_fix=stats.mean_or_none(minutes[gid]))
        for gid, unit in first.items()
    ]


def objective(results: Iterable[stats.TaskResult]) -> dict[str, dict[str, Any]]:
    """``{model: ObjectiveSummary as dict}``."""
    return {model: s.to_dict() for model, s in stats.objective_table(results).items()}


def rated_rows(data: StudyData) -> list[RatedRow]:
    by_id = {st.id: st for st in data.study_tasks}
    rows = []
    for rating in data.ratings:
        study_task = by_id.get(rating.study_task_id)
        groups = data.task_groups(study_task) if study_task else {}
        person = data.person_groups.get(rating.participant_id, {})
        groups = {
            **groups,
            "participant": rating.participant_id,
            "experience": person.get("experience"),
            "role": person.get("role"),
        }
        rows.append(RatedRow(rating, groups))
    return rows


def _scores(ratings: Iterable[Rating], dimension: str) -> list[int]:
    """The 1-5 scores given on a dimension (anything else is not a score and is skipped)."""
    values = (getattr(r, dimension) for r in ratings)
    return [v for v in values if isinstance(v, int) and v in LEVELS]


def minutes_summary(values: Iterable[float | None]) -> dict[str, object]:
    """The shape of a RatingSummary for minutes to usable (no levels, so no counts). Minutes are
    never negative and skewed (most answers need none, a few need an hour), so the interval is
    a seeded BCa bootstrap (``stats.bca_interval``), which stays between the smallest and the
    largest value, from ``stats.MIN_INTERVAL_N`` values on."""
    known = [float(v) for v in values if v is not None and not math.isnan(v)]
    note = stats.too_few(len(known))
    interval = None if note else stats.bca_interval(known)
    return stats.RatingSummary(
        mean=stats.mean_or_none(known),
        median=stats.median_or_none(known),
        counts={},
        ci_low=None if interval is None else interval[0],
        ci_high=None if interval is None else interval[1],
        n=len(known),
        ci_note=note,
    ).to_dict()


def ratings(rows: Iterable[Rating]) -> dict[str, dict[str, dict[str, object]]]:
    """``{model: {dimension: RatingSummary as dict}}`` for the 1-5 dimensions and minutes."""
    table: dict[str, dict[str, dict[str, object]]] = {}
    for model, group in stats.group_by(rows, "model").items():
        table[model] = {d: stats.rating_summary(_scores(group, d)).to_dict() for d in DIMENSIONS}
        table[model][MINUTES] = minutes_summary(r.minutes_to_usable for r in group)
    return table


def _mean_score_by(rows: Iterable[Rating], key: str, dimension: str) -> dict[str, float]:
    scores: defaultdict[str, list[int]] = defaultdict(list)
    for rating in rows:
        owner = getattr(rating, key)
        if owner:
            scores[owner].extend(_scores([rating], dimension))
    return {k: sum(v) / len(v) for k, v in scores.items() if v}


def _findings_density(data: StudyData) -> dict[str, float | None]:
    return {
        g: 100.0 * (m.lint_count + m.security_count) / m.lines if m.lines else None
        for g, m in data.metrics.items()
    }


def generation_points(data: StudyData, results: Sequence[Unit]) -> list[dict[str, Any]]:
    """Per rated generation: its model, mean rating per dimension, verdict and findings density
    (the points behind the per-generation correlations, for scatter plots)."""
    passed = {u.generation_id: u.result.passed for u in results}
    models = {r.generation_id: r.model for r in data.ratings if r.generation_id}
    density = _findings_density(data)
    means = {d: _mean_score_by(data.ratings, "generation_id", d) for d in DIMENSIONS}
    return [
        {
            "generation_id": g,
            "model": models[g],
            **{d: means[d].get(g) for d in DIMENSIONS},
            "passed": passed.get(g),
            "findings_per_100_lines": density.get(g),
        }
        for g in sorted(models)
    ]


def human_vs_objective(
    data: StudyData, results: Sequence[Unit], *, rounds: int, seed: int
) -> list[dict[str, Any]]:
    """Spearman's rho between the mean human rating and an objective figure, per model (one
    pair per model) and per generation (one pair per rated generation)."""
    table = stats.objective_table(distinct(results))
    passed = {u.generation_id: u.result.passed for u in results}
    density = _findings_density(data)
    out: list[dict[str, Any]] = []
    for dimension in DIMENSIONS:
        by_model = _mean_score_by(data.ratings, "model", dimension)
        by_generation = _mean_score_by(data.ratings, "generation_id", dimension)
        models, generations = sorted(by_model), sorted(by_generation)
        for name in OBJECTIVES:
            if name == "pass":
                model_y = [table[m].pass_rate if m in table else None for m in models]
                gen_y = [_as_float(passed.get(g)) for g in generations]
            else:
                model_y = [table[m].findings_per_100_lines if m in table else None for m in models]
                gen_y = [density.get(g) for g in generations]
            pairs = (
                ("model", [by_model[m] for m in models], model_y),
                ("generation", [by_generation[g] for g in generations], gen_y),
            )
            for scope, xs, ys in pairs:
                x: list[float | None] = list(xs)
                corr = stats.spearman_with_ci(x, ys, rounds=rounds, seed=seed)
                row = {"scope": scope, "rating": dimension, "objective": name}
                out.append(row | corr.to_dict())
    return out


def _as_float(value: bool | None) -> float | None:
    return None if value is None else float(value)


def agreement(ratings: Iterable[Rating]) -> dict[str, float | None]:
    """Krippendorff's alpha (ordinal) per 1-5 dimension over raters x generations; None when no
    generation has scores from two raters (or when the scores never vary)."""
    rows = [r for r in ratings if r.generation_id]
    out: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        cells: dict[tuple[str, str], int] = {}
        for rating in rows:
            scores = _scores([rating], dimension)
            if scores and rating.generation_id:
                cells[(rating.participant_id, rating.generation_id)] = scores[0]
        raters = sorted({r for r, _ in cells})
        items = sorted({g for _, g in cells})
        shared = [g for g in items if sum(1 for r in raters if (r, g) in cells) >= 2]
        if not shared:
            out[dimension] = None
            continue
        matrix = [[cells.get((r, g)) for g in items] for r in raters]
        out[dimension] = stats.krippendorff_alpha(matrix, level="ordinal")
    return out


def win_matrix(votes: Sequence[stats.Vote], order: Sequence[str], **options: Any) -> dict[str, Any]:
    """``{"models": [...], "matrix": [[share or None]], "battles": [[count]]}`` in the
    leaderboard's order (``battles``: the votes between the two that the win rate counts)."""
    if not order:
        return {"models": [], "matrix": []}
    models, matrix = stats.win_rate_matrix(votes, order=order, **options)
    index = {m: i for i, m in enumerate(models)}
    battles = [[0] * len(models) for _ in models]
    for vote in counted(votes, **options):
        i, j = index.get(vote.model_a), index.get(vote.model_b)
        if i is not None and j is not None and i != j:
            battles[i][j] += 1
            battles[j][i] += 1
    return {
        "models": models,
        "matrix": [[None if math.isnan(v) else float(v) for v in row] for row in matrix.tolist()],
        "battles": battles,
    }
