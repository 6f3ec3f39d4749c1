"""``codearena latency``: the order of the calls, the summary of samples, and end to end
against the loopback fake upstream (stored rows, errors by kind, files)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.experiments.latency import (
    LatencyRequest,
    Sample,
    read_prompts,
    schedule,
    summarize,
    tokens_per_second,
)
from codearena.pipeline import InputError
from codearena.store import Generation, Store, Task
from tests.conftest import unique
from tests.test_cli import run

ROUTE_KEYS = {"median", "p90", "p99", "ci_low", "ci_high"}


def test_the_schedule_rotates_the_routes_so_each_goes_first_equally_often() -> None:
    calls = schedule(["A", "B", "C"], prompts=2, repetitions=3)
    assert len(calls) == 18 and [c.sequence for c in calls] == list(range(18))
    assert [c.route for c in calls[:9]] == ["A", "B", "C", "B", "C", "A", "C", "A", "B"]
    for repetition in range(3):
        for prompt in range(2):
            group = [
                c.route for c in calls if (c.repetition, c.prompt_index) == (repetition, prompt)
            ]
            assert sorted(group) == ["A", "B", "C"]
    places = Counter((c.route, c.sequence % 3) for c in calls)
    assert set(places.values()) == {2}  # every route in every place twice


def sample(route: str, latency: float | None, *, ttft: float | None = None, status: str = "ok",
           kind: str | None = None, tokens: int | None = 10, cost: float | None = 0.001,
           sequence: int = 0) -> Sample:  # fmt: skip
    return Sample(
        sequence=sequence,
        repetition=0,
        prompt_index=0,
        route=route,
        status=status,
        error_kind=kind,
        ttft_ms=ttft if ttft is not None else (None if latency is None else latency / 2),
        latency_ms=latency,
        completion_tokens=tokens,
        cost_usd=cost,
        error="boom" if status != "ok" else None,
    )


def test_summary_of_synthetic_samples() -> None:
    samples = [sample("fast", 100.0 + i) for i in range(12)]
    samples += [sample("slow", 300.0 + i) for i in range(12)]
    samples += [sample("slow", None, status="error", kind="rate_limited", cost=None)] * 2
    samples += [sample("slow", None, status="error", kind="unavailable", cost=None)]
    report = summarize(["fast", "slow"], samples, rounds=500)
    fast, slow = report["routes"]
    assert fast["route"] == "fast" and fast["n"] == 12 and fast["ok"] == 12
    assert slow["n"] == 15 and slow["ok"] == 12
    assert set(fast["ttft_ms"]) >= ROUTE_KEYS and set(fast["latency_ms"]) >= ROUTE_KEYS
    assert fast["latency_ms"]["median"] == pytest.approx(105.5)
    assert fast["latency_ms"]["ci_low"] <= 105.5 <= fast["latency_ms"]["ci_high"]
    assert fast["latency_ms"]["p99"] is None  # 12 samples: no p99
    assert slow["errors"] == {"rate_limited": 2, "unavailable": 1}
    assert slow["error_examples"] == {"rate_limited": "boom", "unavailable": "boom"}
    assert fast["cost_usd"] == pytest.approx(0.012) and slow["cost_calls"] == 12
    # 10 tokens over (latency - ttft) = latency / 2 milliseconds
    assert fast["tokens_per_s"] == pytest.approx(10 / (105.5 / 2 / 1000), rel=0.01)
    (diff,) = report["differences"]
    assert (diff["a"], diff["b"]) == ("fast", "slow")
    assert diff["median_latency_diff_ms"] == pytest.approx(-200.0)
    assert diff["ci_low"] < diff["ci_high"] < 0
    assert any("3 of 15 calls failed" in w for w in report["warnings"])
    assert any("no p99 (needs 100)" in w for w in report["warnings"])


def test_tokens_per_second_needs_a_streamed_answer() -> None:
    assert tokens_per_second(sample("a", 200.0, ttft=100.0, tokens=50)) == pytest.approx(500.0)
    assert tokens_per_second(sample("a", 100.0, ttft=100.0)) is None
    assert tokens_per_second(sample("a", None, status="error")) is None


def test_the_request_refuses_what_cannot_make_a_run() -> None:
    with pytest.raises(InputError, match="at least two routes"):
        LatencyRequest(("a",), ("p",), 1).validate()
    with pytest.raises(InputError, match="more than the 10,000"):
        LatencyRequest(("a", "b"), ("p",) * 100, 51).validate()
    with pytest.raises(InputError, match="prompt 2 is empty"):
        LatencyRequest(("a", "b"), ("p", " "), 1).validate()


def test_prompts_from_files(tmp_path: Path) -> None:
    lines = tmp_path / "p.txt"
    lines.write_text("# comment\nfirst\n\nsecond\n")
    assert read_prompts(lines) == ("first", "second")
    listed = tmp_path / "p.json"
    listed.write_text('["a", "b"]')
    assert read_prompts(listed) == ("a", "b")
    rows = tmp_path / "p.jsonl"
    rows.write_text('{"prompt": "x"}\n"y"\n')
    assert read_prompts(rows) == ("x", "y")
    rows.write_text('{"prompt": "x"}\n{"task": 1}\n')
    with pytest.raises(InputError, match="line 2"):
        read_prompts(rows)


def stored(env: Path, category: str) -> tuple[list[Task], list[Generation]]:
    store = Store(f"sqlite:///{env / 'home' / 'codearena.db'}")
    with store.session() as session:
        tasks = list(session.scalars(select(Task).where(Task.category == category)))
        ids = [t.id for t in tasks]
        generations = list(session.scalars(select(Generation).where(Generation.task_id.in_(ids))))
    return tasks, generations


def test_two_routes_at_different_latencies_end_to_end(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast, slow = unique("ok"), unique("slow-first-0.2")
    code, out, _ = run(
        capsys, "latency", "--route", fast, "--route", slow, "--task", "ECHO: one two three",
        "-n", "10", "--json", "--rounds", "500",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"routes", "differences", "warnings", "run"}
    a, b = data["routes"]
    for row in (a, b):
        assert {"route", "n", "ttft_ms", "latency_ms", "tokens_per_s", "errors", "cost_usd"} <= set(
            row
        )
        assert set(row["ttft_ms"]) >= ROUTE_KEYS and set(row["latency_ms"]) >= ROUTE_KEYS
        assert row["n"] == 10 and row["ok"] == 10 and row["errors"] == {}
        assert row["cost_usd"] > 0
    assert (a["route"], b["route"]) == (fast, slow)
    assert a["ttft_ms"]["median"] < b["ttft_ms"]["median"]
    assert a["latency_ms"]["median"] < b["latency_ms"]["median"]
    (diff,) = data["differences"]
    assert set(diff) >= {"a", "b", "median_latency_diff_ms", "ci_low", "ci_high"}
    assert (diff["a"], diff["b"]) == (fast, slow)
    assert diff["ci_low"] <= diff["median_latency_diff_ms"] <= diff["ci_high"] < 0
    run_info = data["run"]
    assert run_info["calls"] == 20 and run_info["repetitions"] == 10
    tasks, generations = stored(env, run_info["category"])
    assert [t.source for t in tasks] == ["latency"] and tasks[0].id == run_info["task_ids"][0]
    assert tasks[0].prompt == "ECHO: one two three"
    assert len(generations) == 20 and {g.status for g in generations} == {"ok"}
    assert Counter(g.model for g in generations) == {fast: 10, slow: 10}
    assert all(g.ttft_ms is not None and g.latency_ms is not None for g in generations)
    code, out, _ = run(capsys, "history", "--json")
    history = json.loads(out)
    assert history[0]["task_id"] == tasks[0].id and history[0]["source"] == "latency"


def test_errors_are_counted_by_kind_and_stored(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flaky, down = unique("flaky-429-3"), unique("error-502")
    code, out, err = run(
        capsys, "latency", "--route", flaky, "--route", down, "--task", "hi", "-n", "6", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    first, second = data["routes"]
    assert first["errors"] == {"rate_limited": 3} and first["ok"] == 3
    assert second["errors"] == {"unavailable": 6} and second["ok"] == 0
    assert second["latency_ms"]["median"] is None and second["cost_usd"] is None
    assert data["differences"][0]["median_latency_diff_ms"] is None
    _, generations = stored(env, data["run"]["category"])
    kinds = Counter((g.model, g.error_kind) for g in generations)
    assert kinds == {(flaky, "rate_limited"): 3, (flaky, None): 3, (down, "unavailable"): 6}


def test_every_call_failing_exits_1_after_the_report(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "latency", "--route", unique("error-429"), "--route", unique("error-503"),
        "--task", "hi", "-n", "2",
    )  # fmt: skip
    assert code == 1 and "every call failed" in err
    assert "rate_limited: 2" in out and "unavailable: 2" in out


def test_out_writes_samples_summary_and_figures(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = env / "prompts.txt"
    prompts.write_text("ECHO: a\nECHO: b\n")
    a, b = unique("ok"), unique("no-cost")
    code, out, _ = run(
        capsys, "latency", "--route", a, "--route", b, "--prompts", str(prompts), "-n", "2",
        "--out", str(env / "results"),
    )  # fmt: skip
    assert code == 0
    results = env / "results"
    assert {p.name for p in results.iterdir()} == {
        "samples.csv", "summary.json", "latency.png", "latency.svg",
    }  # fmt: skip
    with (results / "samples.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and {r["route"] for r in rows} == {a, b}
    assert [r["sequence"] for r in rows] == [str(i) for i in range(8)]
    assert [r["route"] for r in rows[:4]] == [a, b, b, a]  # rotated per prompt
    summary = json.loads((results / "summary.json").read_text())
    assert [r["route"] for r in summary["routes"]] == [a, b] and len(
        summary["run"]["task_ids"]
    ) == 2
    assert summary["routes"][1]["cost_usd"] is None  # the upstream reported none, no price known
    assert (results / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (results / "latency.svg").read_text()
    assert "n=4" in svg and "Total latency" in svg
    assert "samples.csv" in out and "category latency:" in out


def test_an_unconfigured_route_is_refused_with_what_to_set(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "latency", "--route", unique("ok"), "--route", "openai:gpt-4o", "--task", "hi"
    )
    assert code == 2 and out == ""
    assert "'openai:gpt-4o'" in err and "OPENAI_API_KEY" in err
    code, _, err = run(capsys, "latency", "--route", unique("ok"), "--route", "nope-model",
                       "--task", "hi")  # fmt: skip
    assert code == 2 and "nope-model" in err
    code, _, err = run(capsys, "latency", "--route", "a", "--route", "b")
    assert code == 2 and "--prompts FILE or --task TEXT" in err


def test_concurrency_is_honoured_and_calls_start_in_the_schedules_order(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.experiments.server import CappedUpstream

    with CappedUpstream(hold=0.05) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        code, out, err = run(
            capsys, "latency", "--route", "openai:free-a", "--route", "openai:free-b", "--task",
            "hi", "-n", "6", "--concurrency", "2", "--out", str(env / "r"), "--json",
        )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    # two calls at once, never more
    assert server.total_peak == 2 and server.served == {"free-a": 6, "free-b": 6}
    assert [r["errors"] for r in data["routes"]] == [{}, {}]
    with (env / "r" / "samples.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    starts = [float(r["started_s"]) for r in rows]
    assert starts == sorted(starts) and len(rows) == 12


def test_a_prompts_file_that_cannot_be_read_exits_2(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "latency", "--route", "a", "--route", "b", "--prompts", str(env / "missing.txt")
    )
    assert code == 2 and "cannot read" in err and "missing.txt" in err
