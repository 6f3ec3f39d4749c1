"""Batch benchmarks: suites, the runner through gateway + sandbox + store, resume, the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.gateway import Gateway
from codearena.pipeline import Context
from codearena.sandbox import get_sandbox
from codearena.store import Generation, Store
from codearena.store.models import BenchItem, CodeMetrics, Execution
from codearena.suites import SuiteError, load_suite
from codearena.suites.runner import BenchRunner, Progress, RunSpec
from codearena.suites.summary import summarize
from codearena.testing.fake_upstream import FakeUpstream
from tests.conftest import fast, unique
from tests.test_cli import run

REVERSE = "ECHO: ```python\\nprint(input()[::-1])\\n```"


def write_suite(path: Path) -> Path:
    lines = [
        {
            "id": "add-asserts",
            "prompt": "Write add(a, b).",
            "tests": "from solution import add\nassert add(2, 3) == 5\n",
            "reference": "def add(a, b):\n    return a + b\n",
        },
        {
            "id": "add-pytest",
            "prompt": "Write add(a, b).",
            "tests": "def test_add():\n    assert add(-1, 1) == 0\n",
            "reference": "def add(a, b):\n    return a + b\n",
        },
        {
            "id": "add-check",
            "prompt": "Write add(a, b).",
            "check": "def check(f):\n    assert f(1, 1) == 2\n",
            "entry_point": "add",
            "reference": "def add(a, b):\n    return a + b\n",
        },
        {
            "id": "reverse-io",
            "prompt": REVERSE.replace("\\n", "\n"),
            "examples": [{"stdin": "abc\n", "stdout": "cba\n"}],
            "reference": "print(input()[::-1])\n",
        },
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_humaneval_loads_from_the_bundled_data() -> None:
    problems = load_suite("humaneval")
    assert len(problems) == 164
    first = problems[0]
    assert first.id == "HumanEval/0" and first.tests.kind == "humaneval"
    assert first.tests.entry_point == "has_close_elements" and first.reference


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "p", "tests": "assert 1"}\n{"id": "b", "prompt": "p"}\n')
    with pytest.raises(SuiteError, match=r"line 2.*exactly one of"):
        load_suite(str(bad))
    bad.write_text(
        '{"id": "a", "prompt": "p", "tests": "x"}\n{"id": "a", "prompt": "p", "tests": "x"}\n'
    )
    with pytest.raises(SuiteError, match="line 2: duplicate id"):
        load_suite(str(bad))
    bad.write_text("not json\n")
    with pytest.raises(SuiteError, match="line 1: invalid JSON"):
        load_suite(str(bad))


def _context(settings: Settings, tmp_path: Path) -> Context:
    return Context(settings, Store(f"sqlite:///{tmp_path / 'bench.db'}"), Catalog(settings))


async def _bench(context: Context, spec: RunSpec) -> str:
    async with Gateway(context.settings, context.catalog) as gateway:
        runner = BenchRunner(context, gateway, get_sandbox("bwrap"))
        run_id = runner.create(spec)
        await runner.run(run_id)
    return run_id


async def test_reference_solutions_of_humaneval_all_pass(
    settings: Settings, tmp_path: Path
) -> None:
    context = _context(settings, tmp_path)
    run_id = await _bench(context, RunSpec("humaneval", ["reference"]))
    [result] = summarize(context, run_id)
    assert (result.problems, result.passed, result.evaluated) == (164, 164, 164)
    assert result.pass_at == {"1": 1.0} and result.cost_usd == 0.0


async def test_own_suite_in_all_three_test_forms(settings: Settings, tmp_path: Path) -> None:
    context = _context(settings, tmp_path)
    suite = write_suite(tmp_path / "suite.jsonl")
    good, broken = unique("ok"), unique("error-401")
    run_id = await _bench(context, RunSpec(str(suite), [good, broken, "reference"], samples=2))
    results = {r.model: r for r in summarize(context, run_id)}
    assert results["reference"].passed == 4
    # the fake answers `def add` to every prompt, and echoes the reversing program for reverse-io
    assert results[good].passed == 8 and results[good].pass_at == {"1": 1.0, "2": 1.0}
    assert results[good].cost_usd and results[good].cost_complete
    assert results[broken].passed == 0 and results[broken].errors == 8
    assert results[broken].pass_at == {"1": 0.0, "2": 0.0}
    with context.store.session() as session:
        items = list(session.scalars(select(BenchItem).where(BenchItem.run_id == run_id)))
        executions = {e.id: e for e in session.scalars(select(Execution))}
        metrics = {m.generation_id for m in session.scalars(select(CodeMetrics))}
    executed = [i for i in items if i.model != broken]
    assert all(i.execution_id in executions and i.generation_id in metrics for i in executed)
    assert {executions[i.execution_id].test_kind for i in executed} == {"python", "humaneval", "io"}
    assert all(executions[i.execution_id].backend == "bwrap" for i in executed)
    assert all(i.execution_id is None and i.passed is False for i in items if i.model == broken)


async def test_resume_repeats_no_finished_api_call(
    settings: Settings, tmp_path: Path, fake: FakeUpstream
) -> None:
    context = _context(settings, tmp_path)
    suite = write_suite(tmp_path / "suite.jsonl")
    model = unique("slow-0.02")
    seen: list[int] = []
    async with Gateway(context.settings, context.catalog) as gateway:
        runner = BenchRunner(context, gateway, get_sandbox("bwrap"), lambda p: seen.append(p.done))
        run_id = runner.create(RunSpec(str(suite), [model], samples=3, concurrency=2))
        job = asyncio.create_task(runner.run(run_id))
        while not seen or seen[-1] < 4:
            await asyncio.sleep(0.01)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    calls_before = fake.count(model.removeprefix("openrouter:"))
    assert 4 <= calls_before < 12
    with context.store.session() as session:
        answered = session.scalar(
            select(func.count()).select_from(Generation).where(Generation.status == "ok")
        )
    assert answered is not None and answered >= 4
    progress: list[Progress] = []
    async with Gateway(context.settings, context.catalog) as gateway:
        await BenchRunner(context, gateway, get_sandbox("bwrap"), progress.append).run(run_id)
    assert progress[0].done >= 4, "finished items are counted, not redone"
    # calls cut by the interruption had no answer and are asked again; answered ones never:
    # exactly one answer per item in the end, and no call without its row (the fake may count
    # a request that was on the wire at the interruption after calls_before was read)
    with context.store.session() as session:
        rows = list(session.scalars(select(Generation)))
    assert sum(1 for g in rows if g.status == "ok") == 12
    assert calls_before + (12 - answered) <= fake.count(model.removeprefix("openrouter:"))
    assert fake.count(model.removeprefix("openrouter:")) <= len(rows)
    [result] = summarize(context, run_id)
    assert result.evaluated == 12 and result.passed == 12 and result.pending == 0
    # the interrupted run stopped before its batch of static checks: the resumed one checked
    # every answer, those finished before the interruption too, each exactly once
    with context.store.session() as session:
        items = list(session.scalars(select(BenchItem).where(BenchItem.run_id == run_id)))
        checked = list(session.scalars(select(CodeMetrics.generation_id)))
    assert sorted(checked) == sorted(i.generation_id for i in items)
    async with Gateway(context.settings, context.catalog) as gateway:
        await BenchRunner(context, gateway, get_sandbox("bwrap")).run(run_id)
    with context.store.session() as session:
        assert session.scalar(select(func.count()).select_from(CodeMetrics)) == 12


def test_bench_cli_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = write_suite(env / "suite.jsonl")
    model = unique("ok")
    code, out, _ = run(
        capsys, "bench", str(suite), "-m", model, "--samples", "2", "--limit", "2", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"run_id", "results"}
    [result] = data["results"]
    assert result["model"] == model and result["problems"] == 2 and result["samples"] == 2
    assert result["pass_at"] == {"1": 1.0, "2": 1.0} and result["cost_usd"] > 0
    code, out, _ = run(capsys, "bench", "--resume", data["run_id"], "--json")
    assert code == 0 and json.loads(out)["results"][0]["evaluated"] == 4
    wrong = unique("wrong-1")
    code, out, _ = run(
        capsys, "bench", str(suite), "-m", wrong, "--limit", "2", "--repair-rounds", "1", "--json"
    )
    assert code == 0
    [result] = json.loads(out)["results"]
    assert result["pass_at_round"] == {"0": 0.0, "1": 1.0} and result["pass_at"] == {"1": 0.0}


def test_bench_cli_bad_input(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "nosuch.jsonl", "-m", "openai/gpt-4")
    assert code == 2 and "unknown suite" in err
    code, _, err = run(capsys, "bench", "humaneval", "-m", "openai/gpt-44")
    assert code == 2 and "Did you mean" in err
    code, _, err = run(capsys, "bench", "--resume", "nope")
    assert code == 2 and "no bench run" in err


async def test_resume_asks_again_only_the_calls_that_failed(
    settings: Settings, tmp_path: Path, fake: FakeUpstream
) -> None:
    settings = fast(settings, max_retries=0)
    context = _context(settings, tmp_path)
    suite = write_suite(tmp_path / "suite.jsonl")
    flaky = unique("flaky-503-2")  # the first two calls fail, later ones answer
    run_id = await _bench(context, RunSpec(str(suite), [flaky], samples=1, concurrency=1))
    [first] = summarize(context, run_id)
    assert first.errors == 2 and first.passed == 2
    async with Gateway(context.settings, context.catalog) as gateway:
        await BenchRunner(context, gateway, get_sandbox("bwrap")).run(run_id)
    [second] = summarize(context, run_id)
    assert second.passed == 4 and second.evaluated == 4
    assert fake.count(flaky.removeprefix("openrouter:")) == 6, "4 answers + the 2 failed calls"


async def test_repair_rounds_give_pass_at_round(
    settings: Settings, tmp_path: Path, fake: FakeUpstream
) -> None:
    """A model wrong until its failure is sent back once: nothing at round 0, every add problem
    at round 1 (reverse-io needs a program the fake never writes); tokens and cost count the
    repair calls too."""
    context = _context(settings, tmp_path)
    suite = write_suite(tmp_path / "suite.jsonl")
    once, never = unique("wrong-1"), unique("wrong-9")
    run_id = await _bench(context, RunSpec(str(suite), [once, never, "reference"], repair_rounds=2))
    results = {r.model: r for r in summarize(context, run_id)}
    assert results[once].pass_at_round == {"0": 0.0, "1": 0.75, "2": 0.75}
    assert results[once].pass_at == {"1": 0.0}, "pass@k stays the first answer's"
    assert results[never].pass_at_round == {"0": 0.0, "1": 0.0, "2": 0.0}
    assert results["reference"].pass_at_round == {"0": 1.0, "1": 1.0, "2": 1.0}
    calls = fake.count(once.removeprefix("openrouter:"))
    assert calls == 4 + 4 + 1  # answers, the first repairs, reverse-io's second repair
    with context.store.session() as session:
        rows = list(session.scalars(select(Generation).where(Generation.model == once)))
        items = list(session.scalars(select(BenchItem).where(BenchItem.model == once)))
    assert len(rows) == calls and sum(1 for g in rows if g.kind == "repair") == 5
    assert results[once].cost_usd == pytest.approx(sum(g.cost_usd or 0 for g in rows))
    assert sorted(i.passed_at_round for i in items if i.passed_at_round is not None) == [1, 1, 1]
    assert {i.round for i in items} == {1, 2}


async def test_resumed_repair_rounds_repeat_no_answered_call(
    settings: Settings, tmp_path: Path, fake: FakeUpstream
) -> None:
    context = _context(settings, tmp_path)
    suite = write_suite(tmp_path / "suite.jsonl")
    model = unique("wrong-2")
    seen: list[int] = []
    async with Gateway(context.settings, context.catalog) as gateway:
        runner = BenchRunner(context, gateway, get_sandbox("bwrap"), lambda p: seen.append(p.done))
        run_id = runner.create(RunSpec(str(suite), [model], repair_rounds=3, concurrency=2))
        job = asyncio.create_task(runner.run(run_id))
        while fake.count(model.removeprefix("openrouter:")) < 5:
            await asyncio.sleep(0.005)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    async with Gateway(context.settings, context.catalog) as gateway:
        await BenchRunner(context, gateway, get_sandbox("bwrap")).run(run_id)
    [result] = summarize(context, run_id)
    assert result.pass_at_round == {"0": 0.0, "1": 0.0, "2": 0.75, "3": 0.75}
    with context.store.session() as session:
        rows = list(session.scalars(select(Generation).where(Generation.model == model)))
    answered = [g for g in rows if g.status == "ok"]
    # every call made has its row (a row whose call the interruption cut before it went out
    # has none); answered ones were never asked again: 3 turns for each add problem (wrong,
    # wrong, right) and 4 for reverse-io (it never passes), each turn answered exactly once
    calls = fake.count(model.removeprefix("openrouter:"))
    assert len(answered) <= calls <= len(rows)
    assert len(answered) == 3 * 3 + 4
    assert len({(g.task_id, g.turn) for g in answered}) == len(answered)
    assert all(g.status in ("ok", "cancelled", "error") for g in rows)
