"""Batch benchmarks through the one pipeline: generate (gateway), execute (sandbox), store.

A run is a ``bench_runs`` row plus one ``bench_items`` row per (problem, model, sample). Every item
records its generation and execution as they finish, so ``resume`` continues an interrupted run
without repeating a finished API call (generations that ended in an error are asked again).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from codearena.answers import extract_code, select_program
from codearena.evaluation import aexecute, check_and_record, no_code_result, record_execution
from codearena.gateway import Gateway
from codearena.pipeline import Context, InputError, generate_into, stored_code, validate_models
from codearena.prompting import PromptOptions, build_messages
from codearena.sandbox import Sandbox
from codearena.store import Generation, Task, repo
from codearena.store.models import BenchItem, BenchRun
from codearena.suites.loader import load_suite
from codearena.suites.types import Problem

REFERENCE = "reference"


@dataclass
class Progress:
    total: int
    done: int = 0
    passed: int = 0
    cost_usd: float = 0.0

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.done if self.done else None


ProgressListener = Callable[[Progress], None]


@dataclass
class _Item:
    id: int
    problem: Problem
    model: str
    sample: int
    generation_id: str | None
    task_id: str | None


@dataclass
class RunSpec:
    suite: str
    models: list[str]
    samples: int = 1
    temperature: float | None = 0.2
    concurrency: int = 8
    limit: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _tests_json(problem: Problem) -> dict[str, Any]:
    return {"problem_id": problem.id, **asdict(problem.tests)}


class BenchRunner:
    def __init__(
        self,
        context: Context,
        gateway: Gateway,
        sandbox: Sandbox,
        listener: ProgressListener | None = None,
        *,
        checks: bool = True,
    ) -> None:
        self.checks = checks
        self.context = context
        self.gateway = gateway
        self.sandbox = sandbox
        self.listener = listener
        self._executions = asyncio.Semaphore(max(1, os.cpu_count() or 1))
        self._task_locks: dict[str, asyncio.Lock] = {}

    def create(self, spec: RunSpec) -> str:
        """Validate and store a new run with all its items; returns the run id."""
        if spec.samples < 1:
            raise InputError("--samples must be at least 1")
        if not spec.models:
            raise InputError("choose at least one model with -m MODEL, or -m reference")
        api_models = [m for m in spec.models if m != REFERENCE]
        if api_models:
            validate_models(self.context.catalog, api_models)
        problems = self._problems(spec.suite, spec.limit)
        if REFERENCE in spec.models and any(p.reference is None for p in problems):
            raise InputError("-m reference needs a 'reference' solution for every problem")
        with self.context.store.session() as session:
            run = BenchRun(
                suite=spec.suite,
                models=spec.models,
                samples=spec.samples,
                temperature=spec.temperature,
                params={"limit": spec.limit, "concurrency": spec.concurrency, **spec.params},
            )
            session.add(run)
            session.flush()
            for problem in problems:
                for model in spec.models:
                    for sample in range(1 if model == REFERENCE else spec.samples):
                        session.add(
                            BenchItem(
                                run_id=run.id, problem_id=problem.id, model=model, sample=sample
                            )
                        )
        return run.id

    @staticmethod
    def _problems(suite: str, limit: int | None) -> list[Problem]:
        problems = load_suite(suite)
        return problems[:limit] if limit else problems

    async def run(self, run_id: str) -> None:
        """Do every unfinished item of a run (a new one, or one being resumed)."""
        with self.context.store.session() as session:
            run = session.get(BenchRun, run_id)
            if run is None:
                raise InputError(f"no bench run {run_id!r}; `codearena bench runs` lists them")
            suite, limit = run.suite, run.params.get("limit")
            concurrency, temperature = int(run.params.get("concurrency", 8)), run.temperature
            rows = list(session.scalars(select(BenchItem).where(BenchItem.run_id == run_id)))
            finished = {
                g.id
                for g in session.scalars(
                    select(Generation).where(
                        Generation.id.in_([r.generation_id for r in rows if r.generation_id])
                    )
                )
                if g.status == "ok"
            }
        problems = {p.id: p for p in self._problems(suite, limit)}
        progress = Progress(total=len(rows))
        todo: list[_Item] = []
        task_of: dict[str, str] = {}
        for row in rows:
            if row.task_id:
                task_of[row.problem_id] = row.task_id
            answered = row.generation_id in finished
            if row.passed is not None and (answered or row.model == REFERENCE):
                progress.done += 1
                progress.passed += int(row.passed)
                continue
            # not done yet, or its API call ended in an error: ask again (answers are never re-asked)
            generation = row.generation_id if answered else None
            todo.append(
                _Item(
                    row.id, problems[row.problem_id], row.model, row.sample, generation, row.task_id
                )
            )
        progress.cost_usd = self._cost_so_far(run_id)
        self._notify(progress)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def work(item: _Item) -> None:
            async with gate:
                passed, cost = await self._do(item, task_of, temperature)
            progress.done += 1
            progress.passed += int(passed)
            progress.cost_usd += cost
            self._notify(progress)

        await asyncio.gather(*(work(item) for item in todo))
        with self.context.store.session() as session:
            run = session.get(BenchRun, run_id)
            assert run is not None
            run.status = "done"

    def _notify(self, progress: Progress) -> None:
        if self.listener is not None:
            self.listener(progress)

    def _cost_so_far(self, run_id: str) -> float:
        with self.context.store.session() as session:
            query = (
                select(Generation.cost_usd)
                .join(BenchItem, BenchItem.generation_id == Generation.id)
                .where(BenchItem.run_id == run_id)
            )
            return float(sum(c for c in session.scalars(query) if c is not None))

    async def _task_for(self, problem: Problem, task_of: dict[str, str]) -> str:
        lock = self._task_locks.setdefault(problem.id, asyncio.Lock())
        async with lock:
            if problem.id not in task_of:
                text = problem.task_text()
                stored = repo.create_task(
                    self.context.store,
                    prompt=text,
                    mode="plain",
                    output_language=problem.language,
                    messages=build_messages(text, PromptOptions(mode="plain")),
                    source="bench",
                    tests=_tests_json(problem),
                )
                task_of[problem.id] = stored.id
            return task_of[problem.id]

    async def _do(
        self, item: _Item, task_of: dict[str, str], temperature: float | None
    ) -> tuple[bool, float]:
        problem = item.problem
        task_id = await self._task_for(problem, task_of)
        cost = 0.0
        if item.generation_id is None:
            item.generation_id, _text, status, cost = await self._generate(
                item, task_id, temperature
            )
        else:
            _text, status = self._stored_text(item.generation_id)
        self._update(item.id, task_id=task_id, generation_id=item.generation_id)
        if status != "ok":
            self._update(item.id, passed=False)
            return False, cost
        blocks = stored_code(self.context.store, [item.generation_id])[0]
        program = select_program(
            blocks,
            task_language=problem.language,
            test_kind=problem.tests.kind,
            entry_point=problem.tests.entry_point,
            prefix=problem.completion_prefix,
        )
        async with self._executions:
            if program is None:
                result = no_code_result(problem.language, self.sandbox.name)
            else:
                result = await aexecute(self.sandbox, program, problem.tests)
        execution_id = record_execution(
            self.context.store,
            task_id=task_id,
            generation_id=item.generation_id,
            program=program,
            language=problem.language,
            tests=problem.tests,
            result=result,
            source="bench",
        )
        self._update(item.id, execution_id=execution_id, passed=result.passed)
        if self.checks:
            async with self._executions:
                await check_and_record(
                    self.context.store, item.generation_id, blocks, problem.language
                )
        return result.passed, cost

    async def _generate(
        self, item: _Item, task_id: str, temperature: float | None
    ) -> tuple[str, str, str, float]:
        position = item.sample
        if item.model == REFERENCE:
            assert item.problem.reference is not None
            text = f"```{item.problem.language}\n{item.problem.reference}\n```\n"
            row = repo.create_generation(
                self.context.store, task_id, position, REFERENCE, "Reference solution", REFERENCE
            )
            with self.context.store.session() as session:
                generation = session.get(Generation, row.id)
                assert generation is not None
                generation.status, generation.text = "ok", text
                generation.cost_usd, generation.cost_source = 0.0, REFERENCE
                generation.code = [b.to_dict() for b in extract_code(text)]
            return row.id, text, "ok", 0.0
        with self.context.store.session() as session:
            task = session.get(Task, task_id)
            assert task is not None
            messages = list(task.messages)
        results, ids = await generate_into(
            self.context,
            self.gateway,
            task_id,
            messages,
            [item.model],
            temperature=temperature,
            first_position=position,
        )
        result = results[0]
        return ids[0], result.text, result.status, result.cost_usd or 0.0

    def _stored_text(self, generation_id: str) -> tuple[str, str]:
        with self.context.store.session() as session:
            generation = session.get(Generation, generation_id)
            assert generation is not None
            return generation.text, generation.status

    def _update(self, item_id: int, **values: Any) -> None:
        with self.context.store.session() as session:
            row = session.get(BenchItem, item_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
