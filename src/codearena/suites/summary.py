"""Per-model results of a bench run: pass@k (unbiased estimator), tokens, cost and latency."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from codearena.pipeline import Context
from codearena.stats.passk import pass_at_k
from codearena.store import Generation
from codearena.store.models import BenchItem, BenchRun


@dataclass
class ModelResult:
    model: str
    problems: int
    samples: int
    pass_at: dict[str, float]
    passed: int
    evaluated: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    cost_usd: float | None
    cost_complete: bool
    median_ttft_ms: float | None
    median_latency_ms: float | None
    pending: int = 0
    pass_at_round: dict[str, float] | None = None  # {"0": p0, ..., "K": pK}

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _road(generations: dict[str, Generation], generation_id: str | None) -> list[Generation]:
    """An item's generations: its latest round's and every earlier round's (by ``parent_id``)."""
    road = []
    while generation_id is not None and generation_id in generations:
        road.append(generations[generation_id])
        generation_id = generations[generation_id].parent_id
    return road


def _pass_at_round(items: list[BenchItem], rounds: int) -> dict[str, float]:
    """The share of items (problems x samples) solved within r repair rounds, for r = 0..K; an
    item whose answer never arrived or never passed counts as unsolved. Rows from before repair
    rounds existed have only ``passed`` (round 0)."""
    if not items:
        return {}
    solved_at = [
        i.passed_at_round if i.passed_at_round is not None else (0 if i.passed else None)
        for i in items
    ]
    return {
        str(r): round(sum(1 for s in solved_at if s is not None and s <= r) / len(items), 6)
        for r in range(rounds + 1)
    }


def summarize(context: Context, run_id: str) -> list[ModelResult]:
    with context.store.session() as session:
        run = session.get(BenchRun, run_id)
        if run is None:
            return []
        items = list(session.scalars(select(BenchItem).where(BenchItem.run_id == run_id)))
        task_ids = list({i.task_id for i in items if i.task_id})
        generations = {
            g.id: g
            for g in session.scalars(select(Generation).where(Generation.task_id.in_(task_ids)))
        }
        models = list(run.models)
        rounds = int(run.params.get("repair_rounds", 0))
    results = []
    for model in models:
        mine = [i for i in items if i.model == model]
        per_problem: dict[str, list[bool]] = defaultdict(list)
        for item in mine:
            if item.passed is not None:
                per_problem[item.problem_id].append(bool(item.passed))
        latest = [generations[i.generation_id] for i in mine if i.generation_id in generations]
        gens = [g for i in mine for g in _road(generations, i.generation_id)]  # every round's call
        samples = min((len(v) for v in per_problem.values()), default=0)
        pass_at = {}
        for k in range(1, samples + 1):
            scores = [pass_at_k(len(v), sum(v), k) for v in per_problem.values()]
            pass_at[str(k)] = round(sum(scores) / len(scores), 6)
        costs = [g.cost_usd for g in gens if g.status == "ok"]
        known = [c for c in costs if c is not None]
        results.append(
            ModelResult(
                model=model,
                problems=len(per_problem),
                samples=samples,
                pass_at=pass_at,
                passed=sum(sum(v) for v in per_problem.values()),
                evaluated=sum(len(v) for v in per_problem.values()),
                errors=sum(1 for g in latest if g.status == "error"),
                prompt_tokens=sum(g.prompt_tokens or 0 for g in gens),
                completion_tokens=sum(g.completion_tokens or 0 for g in gens),
                tokens_estimated=any(g.tokens_estimated for g in gens),
                cost_usd=round(float(sum(known)), 8) if known or not costs else None,
                cost_complete=len(known) == len(costs),
                median_ttft_ms=_median([g.ttft_ms for g in gens if g.ttft_ms is not None]),
                median_latency_ms=_median(
                    [
                        g.latency_ms
                        for g in gens
                        if g.latency_ms is not None and g.provider != "reference"
                    ]
                ),
                pending=sum(1 for i in mine if i.passed is None),
                pass_at_round=_pass_at_round(mine, rounds),
            )
        )
    return results
