"""The calls made through the OpenAI-compatible endpoint with a study's API tokens, per model.

A study's tokens (``codearena tokens create --study S``) let its participants' own tools (IDE
assistants, agents, scripts) call the study's models; each call is a generation of a task with
source ``api`` (``store.study_rows.api_generations``), counted in the study's spend and kept out
of its tasks, ratings and votes. This is what the dashboard, the analysis JSON and the exports
show of them: how many calls each model got and how they ended, their tokens, cost and
latency.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from codearena.store import Generation, Store, study_rows


@dataclass(frozen=True)
class ApiUsage:
    """One model's calls: ``ok`` (answered), ``interrupted`` (the client went away mid-stream),
    ``failed`` (an upstream error or cancelled), ``pending`` (not finished when counted); the
    tokens (``estimated_calls`` of them counted from the text, not reported by the upstream),
    the cost and the medians over the answered calls (None without one)."""

    model: str
    calls: int
    ok: int
    interrupted: int
    failed: int
    pending: int
    tokens: int
    prompt_tokens: int
    completion_tokens: int
    estimated_calls: int
    cost_usd: float
    median_latency_ms: float | None
    median_ttft_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(generations: Sequence[Generation], tokens_of: dict[str, str]) -> list[ApiUsage]:
    """Per model, in order of first call; ``tokens_of`` maps a task id to its token's id."""
    by_model: defaultdict[str, list[Generation]] = defaultdict(list)
    for generation in generations:
        by_model[generation.model].append(generation)
    usage = []
    for model, calls in by_model.items():
        answered = [g for g in calls if g.status == "ok"]
        latencies = [g.latency_ms for g in answered if g.latency_ms is not None]
        ttfts = [g.ttft_ms for g in answered if g.ttft_ms is not None]
        usage.append(
            ApiUsage(
                model=model,
                calls=len(calls),
                ok=len(answered),
                interrupted=sum(g.status == "interrupted" for g in calls),
                failed=sum(g.status in ("error", "cancelled") for g in calls),
                pending=sum(g.status == "pending" for g in calls),
                tokens=len({tokens_of[g.task_id] for g in calls if g.task_id in tokens_of}),
                prompt_tokens=sum(g.prompt_tokens or 0 for g in calls),
                completion_tokens=sum(g.completion_tokens or 0 for g in calls),
                estimated_calls=sum(bool(g.tokens_estimated) for g in calls),
                cost_usd=round(sum(g.cost_usd or 0.0 for g in calls), 6),
                median_latency_ms=_median(latencies),
                median_ttft_ms=_median(ttfts),
            )
        )
    return usage


def api_usage(store: Store, study_id: str) -> list[ApiUsage]:
    """The study's API calls per model, read with ``store.study_rows``."""
    with store.session() as session:
        generations = session.scalars(study_rows.api_generations(study_id)).all()
        tokens_of = {c.task_id: c.token_id for c in session.scalars(study_rows.api_calls(study_id))}
    return summarize(generations, tokens_of)


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None
