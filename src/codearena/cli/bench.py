"""``codearena bench``: progress while it runs, pass@k per model at the end.

The command turns its options into a :class:`BenchRequest` and hands it to :func:`run_bench`;
the suites, the gateway and the sandbox are imported when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from codearena.cli.output import print_json
from codearena.terminal import printable

if TYPE_CHECKING:
    from codearena.suites.runner import Progress as RunProgress


@dataclass(frozen=True)
class BenchRequest:
    """One ``bench`` run: a new run of ``suite`` with ``models``, or ``resume`` an earlier one."""

    suite: str | None
    models: tuple[str, ...]
    samples: int
    temperature: float
    concurrency: int
    limit: int | None = None
    resume: str | None = None  # the id of a run to continue
    backend: str | None = None  # the sandbox backend (default: the configured one)
    repair_rounds: int = 0  # a failed answer's failure is sent back up to this many times


def bench(
    suite: Annotated[
        str | None, typer.Argument(help="'humaneval' or the path of a JSONL suite.")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("-m", "--model", help="Model id, or 'reference'.")
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=1, help="Samples per problem (pass@k for k <= N).")
    ] = 1,
    temperature: Annotated[float, typer.Option("--temperature")] = 0.2,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Items in flight at once.")
    ] = 8,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first K problems.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run.")
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Sandbox backend (default: config, else bwrap).")
    ] = None,
    repair_rounds: Annotated[
        int,
        typer.Option(
            "--repair-rounds",
            min=0,
            help="Send a failed answer's failure back to its model, up to K times.",
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a benchmark suite through the gateway and the sandbox; report pass@k per model."""
    request = BenchRequest(
        suite=suite,
        models=tuple(model or ()),
        samples=samples,
        temperature=temperature,
        concurrency=concurrency,
        limit=limit,
        resume=resume,
        backend=backend,
        repair_rounds=repair_rounds,
    )
    run_bench(request, as_json=as_json)


def run_bench(request: BenchRequest, *, as_json: bool = False) -> None:
    """Create (or resume) the run, show progress on stderr (on a terminal), then print pass@k
    per model, or one JSON object with ``as_json``. Bad input (an unknown suite, model or run,
    a sandbox that cannot start) raises ``InputError``, ``SuiteError`` or ``SandboxError``."""
    import asyncio

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text

    from codearena.config import load_settings
    from codearena.gateway import Gateway
    from codearena.pipeline import Context, InputError
    from codearena.sandboxes import open_sandbox
    from codearena.suites.runner import BenchRunner, RunSpec
    from codearena.suites.summary import summarize

    context = Context.open(load_settings())
    sandbox = open_sandbox(context.settings.sandbox, request.backend)
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
            if request.resume:
                run_id = request.resume
            else:
                if not request.suite or not request.models:
                    raise InputError("give a suite and at least one -m MODEL (or --resume RUN_ID)")
                spec = RunSpec(
                    suite=request.suite,
                    models=list(request.models),
                    samples=request.samples,
                    temperature=request.temperature,
                    concurrency=request.concurrency,
                    limit=request.limit,
                    repair_rounds=request.repair_rounds,
                )
                run_id = runner.create(spec)
                err.print(Text(printable(f"run {run_id} (resume with --resume {run_id})")))
            with bar:
                await runner.run(run_id)
            return run_id

    run_id = asyncio.run(go())
    results = summarize(context, run_id)
    if as_json:
        print_json({"run_id": run_id, "results": [r.to_dict() for r in results]}, ensure_ascii=True)
        return
    repairs = any(len(r.pass_at_round or {}) > 1 for r in results)
    columns = ["model", "problems", "samples", "pass@k", "errors", "tokens", "cost $"]
    table = Table(*columns, *(["within round"] if repairs else []), "median latency ms")
    for r in results:
        pass_at = "  ".join(f"@{k} {v:.3f}" for k, v in r.pass_at.items())
        rounds = "  ".join(f"{k}: {v:.3f}" for k, v in (r.pass_at_round or {}).items())
        cost = "-" if r.cost_usd is None else f"{r.cost_usd:.4f}{'' if r.cost_complete else '+'}"
        table.add_row(
            Text(printable(r.model)),
            str(r.problems),
            str(r.samples),
            pass_at,
            str(r.errors),
            f"{r.prompt_tokens + r.completion_tokens}",
            cost,
            *([rounds] if repairs else []),
            str(r.median_latency_ms or "-"),
        )
    Console().print(table)
    Console().print(Text(printable(f"run {run_id}")))
