"""Objective figures per model: pass rate, findings density, speed, tokens, cost, fix effort."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from .breakdown import group_by
from .intervals import MIN_INTERVAL_N, mean_or_none, median_or_none, too_few, wilson_interval


@dataclass(frozen=True)
class TaskResult:
    """The measurements of one generation (one model answering one task). None = not measured:
    ``passed`` is None when the code was not run against tests (never run, or run only without
    tests: verdict ``ran``, which is not a pass), ``lines`` when no code was extracted."""

    model: str
    passed: bool | None = None
    lines: int | None = None
    findings: int | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    tokens: int | None = None
    cost_usd: float | None = None
    minutes_to_fix: float | None = None


@dataclass(frozen=True)
class ObjectiveSummary:
    """Figures over a set of task results (usually one model's).

    ``pass_rate`` is ``passed / executed``, where ``executed`` (the n of the pass rate) counts the
    results run against tests (``passed`` not None; a run without tests is in neither count),
    with a 95% Wilson interval (which stays inside [0, 1]), reported from ``MIN_INTERVAL_N``
    such results on; below that the interval is
    None and ``pass_ci_note`` says "n too small (n=3 < 5)";
    ``findings_per_100_lines`` pools findings and lines over results that have both; medians of
    time to first token and total latency; means per task of tokens, cost and estimated
    minutes to fix. A figure with nothing to measure is None."""

    tasks: int
    executed: int
    passed: int
    pass_rate: float | None
    pass_ci_low: float | None
    pass_ci_high: float | None
    findings_per_100_lines: float | None
    median_ttft_s: float | None
    median_latency_s: float | None
    tokens_per_task: float | None
    cost_per_task_usd: float | None
    minutes_to_fix_per_task: float | None
    pass_ci_note: str | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def objective_summary(
    results: Iterable[TaskResult], *, z: float = 1.96, min_n: int = MIN_INTERVAL_N
) -> ObjectiveSummary:
    """The figures over ``results``, whatever models they belong to."""
    rows = list(results)
    executed = [r for r in rows if r.passed is not None]
    passed = sum(1 for r in executed if r.passed)
    note = too_few(len(executed), min_n)
    interval = wilson_interval(passed, len(executed), z) if executed and note is None else None
    sized = [r for r in rows if r.lines is not None and r.findings is not None]
    lines = sum(r.lines for r in sized if r.lines is not None)
    findings = sum(r.findings for r in sized if r.findings is not None)
    return ObjectiveSummary(
        tasks=len(rows),
        executed=len(executed),
        passed=passed,
        pass_rate=passed / len(executed) if executed else None,
        pass_ci_low=None if interval is None else interval[0],
        pass_ci_high=None if interval is None else interval[1],
        findings_per_100_lines=100.0 * findings / lines if lines > 0 else None,
        median_ttft_s=median_or_none(r.ttft_s for r in rows),
        median_latency_s=median_or_none(r.latency_s for r in rows),
        tokens_per_task=mean_or_none(r.tokens for r in rows),
        cost_per_task_usd=mean_or_none(r.cost_usd for r in rows),
        minutes_to_fix_per_task=mean_or_none(r.minutes_to_fix for r in rows),
        pass_ci_note=note,
    )


def objective_table(
    results: Iterable[TaskResult], *, z: float = 1.96, min_n: int = MIN_INTERVAL_N
) -> dict[str, ObjectiveSummary]:
    """``{model: ObjectiveSummary}``, models sorted by name."""
    return {
        model: objective_summary(rows, z=z, min_n=min_n)
        for model, rows in group_by(results, "model").items()
    }
