"""Objective figures per model."""

from __future__ import annotations

import pytest

from codearena.stats import TaskResult, objective_summary, objective_table, wilson_interval


def test_objective_table() -> None:
    results = [
        TaskResult("a", passed=True, lines=40, findings=2, ttft_s=0.5, latency_s=3.0, tokens=300,
                   cost_usd=0.002, minutes_to_fix=0.0),
        TaskResult("a", passed=False, lines=60, findings=1, ttft_s=0.7, latency_s=5.0, tokens=500,
                   cost_usd=0.004, minutes_to_fix=10.0),
        TaskResult("a", passed=None, ttft_s=0.9, latency_s=4.0, tokens=100),
        TaskResult("b", passed=True, lines=10, findings=None, latency_s=1.0),
    ]  # fmt: skip
    table = objective_table(results)
    assert list(table) == ["a", "b"]
    a = table["a"]
    assert (a.tasks, a.executed, a.passed, a.pass_rate) == (3, 2, 1, 0.5)
    assert (a.pass_ci_low, a.pass_ci_high) == pytest.approx(wilson_interval(1, 2))
    assert a.findings_per_100_lines == pytest.approx(3.0)
    assert a.median_ttft_s == 0.7 and a.median_latency_s == 4.0
    assert a.tokens_per_task == 300.0
    assert a.cost_per_task_usd == pytest.approx(0.003)
    assert a.minutes_to_fix_per_task == 5.0
    b = table["b"]
    assert b.pass_rate == 1.0 and b.findings_per_100_lines is None
    assert b.median_ttft_s is None and b.tokens_per_task is None
    assert set(b.to_dict()) >= {"pass_rate", "pass_ci_low", "findings_per_100_lines"}


def test_nothing_executed() -> None:
    summary = objective_summary([TaskResult("a")])
    assert summary.pass_rate is None and summary.pass_ci_low is None and summary.executed == 0
    assert objective_summary([]).tasks == 0
