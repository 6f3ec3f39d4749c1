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
    # 2 runs are fewer than MIN_INTERVAL_N: no interval, a note instead
    assert (a.pass_ci_low, a.pass_ci_high, a.pass_ci_note) == (None, None, "n too small (n=2 < 5)")
    every = objective_table(results, min_n=1)["a"]
    assert (every.pass_ci_low, every.pass_ci_high) == pytest.approx(wilson_interval(1, 2))
    assert every.pass_ci_note is None
    assert a.findings_per_100_lines == pytest.approx(3.0)
    assert a.median_ttft_s == 0.7 and a.median_latency_s == 4.0
    assert a.tokens_per_task == 300.0
    assert a.cost_per_task_usd == pytest.approx(0.003)
    assert a.minutes_to_fix_per_task == 5.0
    b = table["b"]
    assert b.pass_rate == 1.0 and b.findings_per_100_lines is None
    assert b.median_ttft_s is None and b.tokens_per_task is None
    assert set(b.to_dict()) >= {
        "pass_rate",
        "pass_ci_low",
        "findings_per_100_lines",
        "pass_ci_note",
    }


def test_nothing_executed() -> None:
    summary = objective_summary([TaskResult("a")])
    assert summary.pass_rate is None and summary.pass_ci_low is None and summary.executed == 0
    assert objective_summary([]).tasks == 0


def test_pass_interval_from_the_minimum_on() -> None:
    five = objective_summary([TaskResult("a", passed=True)] * 5)
    assert five.pass_ci_note is None
    assert (five.pass_ci_low, five.pass_ci_high) == pytest.approx(wilson_interval(5, 5))
    assert five.pass_ci_high == 1.0 and 0.0 < five.pass_ci_low < 1.0
    four = objective_summary([TaskResult("a", passed=False)] * 4)
    assert (four.pass_ci_low, four.pass_ci_note) == (None, "n too small (n=4 < 5)")
    none_run = objective_summary([TaskResult("a")])
    assert none_run.pass_ci_note == "n too small (n=0 < 5)"
