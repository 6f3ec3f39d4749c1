"""``codearena bench``: progress while it runs, pass@k per model at the end."""

from __future__ import annotations

import asyncio
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from codearena.config import load_settings
from codearena.evaluation import open_sandbox
from codearena.gateway import Gateway
from codearena.pipeline import Context, InputError
from codearena.sandbox import SandboxError
from codearena.suites import SuiteError
from codearena.suites.runner import BenchRunner, RunSpec
from codearena.suites.runner import Progress as RunProgress
from codearena.terminal import escape_json, printable


class BenchFailure(Exception):
    """Bad input for a bench run; exit status 2."""


def run_bench(
    suite: str | None,
    models: list[str],
    samples: int,
    temperature: float,
    concurrency: int,
    limit: int | None,
    resume: str | None,
    backend: str | None,
    as_json: bool,
) -> None:
    context = Context.open(load_settings())
    try:
        sandbox = open_sandbox(context.settings.sandbox, backend)
    except SandboxError as exc:
        raise BenchFailure(str(exc)) from exc
    err = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]bench"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}  {task.fields[cost]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    job = bar.add_task("bench", total=None, rate="", cost="")

    def show(p: RunProgress) -> None:
        rate = f"pass {p.pass_rate:.1%}" if p.pass_rate is not None else "pass -"
        bar.update(job, total=p.total, completed=p.done, rate=rate, cost=f"${p.cost_usd:.4f}")

    async def go() -> str:
        async with Gateway(context.settings, context.catalog) as gateway:
            runner = BenchRunner(context, gateway, sandbox, show)
            if resume:
                run_id = resume
            else:
                if not suite or not models:
                    raise InputError("give a suite and at least one -m MODEL (or --resume RUN_ID)")
                run_id = runner.create(
                    RunSpec(suite, models, samples, temperature, concurrency, limit)
                )
                err.print(Text(printable(f"run {run_id} (resume with --resume {run_id})")))
            with bar:
                await runner.run(run_id)
            return run_id

    try:
        run_id = asyncio.run(go())
    except (InputError, SuiteError) as exc:
        raise BenchFailure(str(exc)) from exc
    from codearena.suites.summary import summarize

    results = summarize(context, run_id)
    if as_json:
        payload = {"run_id": run_id, "results": [r.to_dict() for r in results]}
        sys.stdout.write(escape_json(json.dumps(payload, indent=2)) + "\n")
        return
    table = Table(
        "model", "problems", "samples", "pass@k", "errors", "tokens", "cost $", "median latency ms"
    )
    for r in results:
        pass_at = "  ".join(f"@{k} {v:.3f}" for k, v in r.pass_at.items())
        cost = "-" if r.cost_usd is None else f"{r.cost_usd:.4f}{'' if r.cost_complete else '+'}"
        table.add_row(
            Text(printable(r.model)),
            str(r.problems),
            str(r.samples),
            pass_at,
            str(r.errors),
            f"{r.prompt_tokens + r.completion_tokens}",
            cost,
            str(r.median_latency_ms or "-"),
        )
    Console().print(table)
    Console().print(Text(printable(f"run {run_id}")))
