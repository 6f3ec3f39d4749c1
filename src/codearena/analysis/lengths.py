"""The study's open question on long descriptions: per model, the pass rate of its first answers
against the length of the task's description (``stats.length_fit``).

An answer counts when it is the first turn of a study task's conversation and its latest run was
against tests (``figures.latest_verdict``: passed or not); the length is the description the
participant wrote (or the design's task), in characters.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from codearena.analysis.figures import latest_verdict
from codearena.analysis.load import StudyData
from codearena.stats.length_fit import doubling_odds, length_fit
from codearena.store.models import Execution


def length_effects(data: StudyData, *, rounds: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """One row per model with first answers run against tests, in model order."""
    runs: defaultdict[str, list[Execution]] = defaultdict(list)
    for execution in data.executions:  # oldest first
        runs[execution.generation_id].append(execution)
    samples: defaultdict[str, tuple[list[float], list[bool]]] = defaultdict(lambda: ([], []))
    for study_task in data.study_tasks:
        length = float(len(study_task.prompt.strip()))
        if length <= 0:
            continue
        for generation in data.generations_of(study_task.task_id):
            if generation.turn != 1:
                continue
            passed = latest_verdict(runs[generation.id])
            if passed is None:
                continue
            lengths, outcomes = samples[generation.model]
            lengths.append(length)
            outcomes.append(passed)
    rows = []
    for model in sorted(samples):
        lengths, outcomes = samples[model]
        fit = length_fit(lengths, outcomes, rounds=rounds, seed=seed)
        rows.append(
            {
                "model": model,
                "n": fit.n,
                "passed": fit.passed,
                "shortest": min(lengths),
                "longest": max(lengths),
                "slope": fit.slope,
                "slope_ci_low": fit.slope_low,
                "slope_ci_high": fit.slope_high,
                "odds_per_doubling": doubling_odds(fit.slope),
                "l50": fit.l50,
                "l50_ci_low": fit.l50_low,
                "l50_ci_high": fit.l50_high,
                "note": fit.note,
            }
        )
    return rows
