"""Batch benchmarks through the one pipeline: generate (gateway), execute (sandbox), store.

A run is a ``bench_runs`` row plus one ``bench_items`` row per (problem, model, sample). Every item
records its generation and execution as they finish, so ``resume`` continues an interrupted run
without repeating a finished API call (generations that ended in an error are asked again).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from codearena.answers import CodeBlock, extract_code
from codearena.conversations import continue_conversations
from codearena.evaluation import Answer, check_answers, execute_answer, stored_result
from codearena.gateway import Gateway
from codearena.pipeline import Context, InputError, generate_into, stored_code, validate_models
from codearena.prompting import PromptOptions, build_messages
from codearena.repair import repair_prompt
from codearena.sandbox import ExecResult, Sandbox
from codearena.store import Generation, Task
from codearena.store.models import BenchItem, BenchRun, CodeMetrics, Execution
from codearena.suites.loader import load_suite
from codearena.suites.types import Problem
from codearena.testspecs import spec_to_json

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
    """An unfinished item as the run found it (see :class:`BenchItem` for the fields)."""

    id: int
    problem: Problem
    model: str
    sample: int
    generation_id: str | None
    task_id: str | None
    round: int = 0
    execution_id: str | None = None
    passed_at_round: int | None = None


@dataclass
class RunSpec:
    suite: str
    models: list[str]
    samples: int = 1
    temperature: float | None = 0.2
    concurrency: int = 8
    limit: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    repair_rounds: int = 0  # a failed answer's failure is sent back up to this many times


def _solved(row: BenchItem) -> bool:
    """Passed within the run's repair rounds (rows from before them have only ``passed``)."""
    return row.passed_at_round is not None or bool(row.passed)


def _tests_json(problem: Problem) -> dict[str, Any]:
    return spec_to_json(problem.tests, problem_id=problem.id)


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
        self._repairs = 0  # the run's repair rounds, read by ``run``

    def create(self, spec: RunSpec) -> str:
        """Validate and store a new run with all its items; returns the run id."""
        if spec.samples < 1:
            raise InputError("--samples must be at least 1")
        if spec.repair_rounds < 0:
            raise InputError("--repair-rounds must be 0 or more")
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
                params={
                    "limit": spec.limit,
                    "concurrency": spec.concurrency,
                    "repair_rounds": spec.repair_rounds,
                    **spec.params,
                },
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
        """Do every unfinished item of a run (a new one, or one being resumed).

        Writes are batched where nothing paid can be lost: the tasks and the reference answers
        of all items are stored in one transaction up front; each item then stores its
        execution and its own row in one; the static checks of all answers run as one batch at
        the end (one ruff process, one bandit manager), and a resumed run checks the answers an
        interrupted one left unchecked. An API model's call is linked to its item before it is
        made, so a resumed run never asks again for an answer that arrived."""
        with self.context.store.session() as session:
            run = session.get(BenchRun, run_id)
            if run is None:
                raise InputError(f"no bench run {run_id!r}; `codearena bench runs` lists them")
            suite, limit = run.suite, run.params.get("limit")
            concurrency, temperature = int(run.params.get("concurrency", 8)), run.temperature
            self._repairs = int(run.params.get("repair_rounds", 0))
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
            state = self._state(row, row.generation_id in finished)
            if state == "done":
                progress.done += 1
                progress.passed += int(_solved(row))
                continue
            # round 0 not done, or its API call ended in an error: ask again (answers are never
            # re-asked); a repair round goes on from where it stopped
            generation = (
                row.generation_id if state == "repair" or row.generation_id in finished else None
            )
            todo.append(
                _Item(
                    row.id,
                    problems[row.problem_id],
                    row.model,
                    row.sample,
                    generation,
                    row.task_id,
                    row.round if state == "repair" else 0,
                    row.execution_id if state == "repair" else None,
                    row.passed_at_round,
                )
            )
        progress.cost_usd = self._cost_so_far(run_id)
        self._notify(progress)
        self._prepare(todo, task_of)
        gate = asyncio.Semaphore(max(1, concurrency))
        answers: list[Answer] = []

        async def work(item: _Item) -> None:
            async with gate:
                passed, cost, answered = await self._do(item, task_of, temperature)
            answers.extend(answered)
            progress.done += 1
            progress.passed += int(passed)
            progress.cost_usd += cost
            self._notify(progress)

        await asyncio.gather(*(work(item) for item in todo))
        if self.checks:
            done = {a.generation_id for a in answers}
            answers += [a for a in self._unchecked(problems, rows) if a.generation_id not in done]
            if answers:
                await check_answers(self.context.store, answers)
        with self.context.store.session() as session:
            run = session.get(BenchRun, run_id)
            assert run is not None
            run.status = "done"

    def _prepare(self, todo: list[_Item], task_of: dict[str, str]) -> None:
        """In one transaction: a task for every problem that has none yet, and the reference
        answer of every reference item (nothing is asked for those); the items are linked."""
        with self.context.store.session() as session:
            for item in todo:
                problem = item.problem
                if problem.id not in task_of:
                    text = problem.task_text()
                    task = Task(
                        prompt=text,
                        prompt_style="plain",
                        output_language=problem.language,
                        messages=build_messages(text, PromptOptions(prompt_style="plain")),
                        source="bench",
                        tests=_tests_json(problem),
                    )
                    session.add(task)
                    session.flush()
                    task_of[problem.id] = task.id
                item.task_id = task_of[problem.id]
                if item.model == REFERENCE and item.generation_id is None:
                    assert problem.reference is not None
                    text = f"```{problem.language}\n{problem.reference}\n```\n"
                    generation = Generation(
                        task_id=item.task_id,
                        position=item.sample,
                        model=REFERENCE,
                        label="Reference solution",
                        provider=REFERENCE,
                        status="ok",
                        text=text,
                        cost_usd=0.0,
                        cost_source=REFERENCE,
                        code=[b.to_dict() for b in extract_code(text)],
                    )
                    session.add(generation)
                    session.flush()
                    item.generation_id = generation.id
                row = session.get(BenchItem, item.id)
                assert row is not None
                row.task_id, row.generation_id = item.task_id, item.generation_id

    def _state(self, row: BenchItem, answered: bool) -> str:
        """``todo`` (round 0 to run, or to ask again after a failed call), ``repair`` (repair
        rounds to go on with) or ``done``; ``answered``: the row's generation arrived."""
        if row.model == REFERENCE:
            return "done" if row.passed is not None else "todo"
        if row.round == 0 and (row.passed is None or not answered):
            return "todo"
        if _solved(row) or self._repairs == 0:
            return "done"
        if row.round < self._repairs:
            return "repair"
        return "done" if answered and row.execution_id else "repair"  # the last round ran?

    def _unchecked(self, problems: dict[str, Problem], rows: list[BenchItem]) -> list[Answer]:
        """The answers of the run (every round) that have no static checks stored: a run
        interrupted before its checks ran leaves them to the resumed one."""
        language = {r.task_id: problems[r.problem_id].language for r in rows if r.task_id}
        if not language:
            return []
        with self.context.store.session() as session:
            query = (
                select(Generation.id, Generation.task_id)
                .outerjoin(CodeMetrics, CodeMetrics.generation_id == Generation.id)
                .where(
                    Generation.task_id.in_(list(language)),
                    Generation.status == "ok",
                    CodeMetrics.id.is_(None),
                )
            )
            missing = [(g, t) for g, t in session.execute(query)]
        if not missing:
            return []
        blocks = stored_code(self.context.store, [g for g, _ in missing])
        return [Answer(g, b, language[t]) for (g, t), b in zip(missing, blocks, strict=True)]

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

    async def _do(
        self, item: _Item, task_of: dict[str, str], temperature: float | None
    ) -> tuple[bool, float, list[Answer]]:
        """Answer (an API call unless answered already), run and store one item, then its
        repair rounds; returns whether it passed within them, what its calls cost, and its
        answers for the static checks."""
        problem = item.problem
        task_id = task_of[problem.id]
        cost = 0.0
        answers: list[Answer] = []
        if item.round == 0:
            if item.generation_id is None:
                item.generation_id, status, cost = await self._generate(item, task_id, temperature)
            else:
                status = self._stored_status(item.generation_id)
            if status != "ok":
                self._update(item.id, passed=False)
                return False, cost, answers
            result = await self._execute(item, task_id, first=True)
            answers.append(Answer(item.generation_id, result[1], problem.language))
            last: ExecResult | None = result[0]
        else:
            last = self._stored_execution(item.execution_id)
        while item.passed_at_round is None and item.round < self._repairs:
            assert item.generation_id is not None
            if last is None:  # this round's answer is stored but did not run, or its call failed
                answered = self._stored_status(item.generation_id) == "ok"
                if not answered and not await self._ask_again(item, task_id, temperature):
                    break
                result = await self._execute(item, task_id, first=False)
                answers.append(Answer(item.generation_id, result[1], problem.language))
                last = result[0]
                continue
            prompt = repair_prompt(last, problem.tests)
            next_round = item.round + 1

            def link(ids: list[str], round_: int = next_round) -> None:
                # before the call: an answer that arrives is the item's even if the run stops
                self._update(item.id, generation_id=ids[0], round=round_, execution_id=None)

            results, ids = await continue_conversations(
                self.context,
                self.gateway,
                [item.generation_id],
                [prompt],
                "repair",
                temperature=temperature,
                max_turns=self._repairs + 1,
                on_pending=link,
            )
            cost += results[0].cost_usd or 0.0
            item.generation_id, item.round, item.execution_id = ids[0], next_round, None
            if results[0].status != "ok":
                break  # a resumed run asks this round again
            result = await self._execute(item, task_id, first=False)
            answers.append(Answer(item.generation_id, result[1], problem.language))
            last = result[0]
        return item.passed_at_round is not None, cost, answers

    async def _execute(
        self, item: _Item, task_id: str, *, first: bool
    ) -> tuple[ExecResult, list[CodeBlock]]:
        """Run the item's current answer and store the execution with the item's row."""
        assert item.generation_id is not None
        problem = item.problem
        blocks = stored_code(self.context.store, [item.generation_id])[0]
        round_ = item.round

        def link(session: Session, execution: Execution) -> None:
            row = session.get(BenchItem, item.id)
            assert row is not None
            passed = execution.verdict == "passed"
            row.execution_id = execution.id
            if first:
                row.passed = passed
            if passed and row.passed_at_round is None:
                row.passed_at_round = round_

        async with self._executions:
            executed = await execute_answer(
                self.context.store,
                self.sandbox,
                task_id=task_id,
                generation_id=item.generation_id,
                blocks=blocks,
                language=problem.language,
                tests=problem.tests,
                source="bench",
                prefix=problem.completion_prefix,
                link=link,
            )
        item.execution_id = executed.execution_id
        if executed.result.passed and item.passed_at_round is None:
            item.passed_at_round = round_
        return executed.result, blocks

    async def _ask_again(self, item: _Item, task_id: str, temperature: float | None) -> bool:
        """A repair round whose call failed (found on resume): the same prompt again, from the
        same parent; True when an answer arrived."""
        assert item.generation_id is not None
        with self.context.store.session() as session:
            failed = session.get(Generation, item.generation_id)
            assert failed is not None
            parent, prompt = failed.parent_id, failed.prompt or ""
        if parent is None:
            return False
        results, ids = await continue_conversations(
            self.context,
            self.gateway,
            [parent],
            [prompt],
            "repair",
            temperature=temperature,
            max_turns=self._repairs + 1,
            on_pending=lambda new: self._update(item.id, generation_id=new[0], execution_id=None),
        )
        item.generation_id = ids[0]
        return results[0].status == "ok"

    def _stored_execution(self, execution_id: str | None) -> ExecResult | None:
        if execution_id is None:
            return None
        with self.context.store.session() as session:
            row = session.get(Execution, execution_id)
            return stored_result(row) if row is not None else None

    async def _generate(
        self, item: _Item, task_id: str, temperature: float | None
    ) -> tuple[str, str, float]:
        """One API call for the item, stored by the pipeline; its generation id, status, cost."""
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
            first_position=item.sample,
            # linked before the call: an answer that arrives is the item's even if the run stops
            on_pending=lambda new: self._update(item.id, generation_id=new[0]),
        )
        result = results[0]
        return ids[0], result.status, result.cost_usd or 0.0

    def _stored_status(self, generation_id: str) -> str:
        with self.context.store.session() as session:
            generation = session.get(Generation, generation_id)
            assert generation is not None
            return generation.status

    def _update(self, item_id: int, **values: Any) -> None:
        with self.context.store.session() as session:
            row = session.get(BenchItem, item_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
