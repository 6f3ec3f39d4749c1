"""``codearena latency`` and ``codearena stress``: the options become a request object, the
runner makes the calls, and the report is printed as tables or one JSON object.

The settings, the store, the gateway, numpy and matplotlib are imported when a command runs,
so ``--help`` stays light (``tests/test_cli_startup.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from codearena.cli.output import err, out, print_json, shown
from codearena.errors import FAILURE, CodearenaError

if TYPE_CHECKING:
    from codearena.experiments.latency import LatencyRequest
    from codearena.experiments.stress import StressRequest


def latency_command(
    route: Annotated[
        list[str],
        typer.Option(
            "--route", help="A route: a catalog model id (openai/gpt-4o, openai:gpt-4o); repeat."
        ),
    ],
    prompts: Annotated[
        Path | None,
        typer.Option(
            "--prompts",
            help='Prompts: one per line, a .json list of strings or .jsonl of {"prompt"}.',
        ),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="One prompt, as text.")] = None,
    repetitions: Annotated[
        int, typer.Option("-n", "--repetitions", min=1, help="Calls per prompt and route.")
    ] = 10,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Calls in flight at once (default 1).")
    ] = 1,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Default: the provider's.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Cap on each answer's tokens.")
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries per call (default 0: count errors).")
    ] = 0,
    rounds: Annotated[int, typer.Option("--rounds", min=100, help="Bootstrap rounds.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write samples.csv, summary.json and the figure (PNG, SVG)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send the same prompts through several routes, interleaved; compare their latency."""
    from codearena.experiments.latency import ExperimentInputError, LatencyRequest, read_prompts

    if (prompts is None) == (task is None):
        raise ExperimentInputError("give the prompts with --prompts FILE or --task TEXT (one)")
    texts = read_prompts(prompts) if prompts is not None else (task or "",)
    request = LatencyRequest(
        routes=tuple(route),
        prompts=texts,
        repetitions=repetitions,
        concurrency=concurrency,
        temperature=temperature,
        max_tokens=max_tokens,
        retries=retries,
        rounds=rounds,
        seed=seed,
    )
    run_latency_command(request, as_json=as_json, out_dir=out_dir)


def _progress(quiet: bool) -> Any:
    """A progress bar on stderr when it is a terminal and the output is not JSON."""
    from contextlib import nullcontext

    if quiet or not err().is_terminal:
        return nullcontext(None)
    from rich.progress import Progress

    return Progress(console=err(), transient=True)


def run_latency_command(
    request: LatencyRequest, *, as_json: bool = False, out_dir: Path | None = None
) -> None:
    """Run ``request`` and print its report; exit status 1 when every call failed."""
    import asyncio

    from codearena.config import load_settings, mask_url
    from codearena.experiments.common import experiment_settings
    from codearena.experiments.latency import (
        ExperimentInputError,
        Sample,
        report,
        run_latency,
        write_outputs,
    )
    from codearena.gateway import Gateway
    from codearena.pipeline import Context

    request.validate()
    if out_dir is not None:  # before any call: a run is not lost to a directory it cannot write
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExperimentInputError(f"cannot create {out_dir}: {exc.strerror}") from exc
    base = load_settings()
    settings = experiment_settings(
        base,
        retries=request.retries,
        concurrency=dict.fromkeys(base.providers, request.concurrency),
    )
    context = Context.open(settings)
    total = request.repetitions * len(request.prompts) * len(request.routes)

    async def go() -> Any:
        with _progress(as_json) as progress:
            bar = progress.add_task("calls", total=total) if progress is not None else None

            def on_sample(_sample: Sample) -> None:
                if progress is not None and bar is not None:
                    progress.advance(bar)

            async with Gateway(context.settings, context.catalog) as gateway:
                return await run_latency(context, gateway, request, on_sample=on_sample)

    run = asyncio.run(go())
    summary = report(run)
    written = write_outputs(run, summary, out_dir) if out_dir is not None else []
    if as_json:
        print_json(summary)
    else:
        _print_latency(summary)
        for path in written:
            out().print(shown(f"wrote {path}", style="dim"))
        database = mask_url(context.settings.database_url)
        out().print(
            shown(
                f"{len(run.samples)} calls stored in {database} as tasks with source 'latency', "
                f"category latency:{run.run_id}",
                style="dim",
            )
        )
    if run.samples and all(s.status != "ok" for s in run.samples):
        raise CodearenaError("every call failed; the errors by kind say why", exit_code=FAILURE)


def _ms(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.1f}"


def _interval(low: object, high: object) -> str:
    return "" if low is None or high is None else f" [{_ms(low)}, {_ms(high)}]"


def _print_latency(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="latency by route (ms; successful calls)")
    table.add_column("")
    for row in summary["routes"]:
        table.add_column(shown(row["route"]), overflow="fold")

    def cells(pick: Any) -> list[str]:
        return [pick(row) for row in summary["routes"]]

    def errors(row: dict[str, Any]) -> str:
        return ", ".join(f"{k}: {n}" for k, n in row["errors"].items()) or "-"

    table.add_row("calls (ok)", *cells(lambda r: f"{r['n']} ({r['ok']})"))
    for key, name in (("ttft_ms", "TTFT"), ("latency_ms", "total")):
        table.add_row(
            f"{name} median [95%]",
            *cells(
                lambda r, k=key: (
                    f"{_ms(r[k]['median'])}{_interval(r[k]['ci_low'], r[k]['ci_high'])}"
                )
            ),
        )
        table.add_row(f"{name} p90", *cells(lambda r, k=key: _ms(r[k]["p90"])))
        table.add_row(f"{name} p99", *cells(lambda r, k=key: _ms(r[k]["p99"])))
    table.add_row(
        "tokens/s",
        *cells(lambda r: "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.1f}"),
    )
    table.add_row("errors", *(shown(errors(r)) for r in summary["routes"]))
    table.add_row(
        "cost $", *cells(lambda r: "-" if r["cost_usd"] is None else f"{r['cost_usd']:.6f}")
    )
    out().print(table)
    diffs = Table(title="differences of medians (ms)")
    for name in ("a", "b", "total a - b [95%]", "TTFT a - b [95%]"):
        diffs.add_column(name, overflow="fold")
    for d in summary["differences"]:
        diffs.add_row(
            shown(d["a"]),
            shown(d["b"]),
            f"{_ms(d['median_latency_diff_ms'])}{_interval(d['ci_low'], d['ci_high'])}",
            f"{_ms(d['median_ttft_diff_ms'])}{_interval(d['ttft_ci_low'], d['ttft_ci_high'])}",
        )
    out().print(diffs)
    for row in summary["routes"]:
        for kind, message in row["error_examples"].items():
            err().print(shown(f"{row['route']}: {kind}: {message}", style="red"))
    for warning in summary["warnings"]:
        err().print(shown(f"warning: {warning}", style="yellow"))


def stress_command(
    model: Annotated[
        list[str], typer.Option("-m", "--model", help="Model id; repeat for several.")
    ],
    start: Annotated[int, typer.Option("--start", min=1, help="First concurrency level.")] = 1,
    step: Annotated[int, typer.Option("--step", min=1, help="Added at each level.")] = 1,
    maximum: Annotated[
        int, typer.Option("--max", min=1, help="Highest level (calls in flight per model).")
    ] = 8,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds each level is held (at most 600).")
    ] = 10.0,
    max_error_rate: Annotated[
        float,
        typer.Option("--max-error-rate", help="Error rate above which a level fails (0.05 = 5%)."),
    ] = 0.05,
    max_requests: Annotated[
        int, typer.Option("--max-requests", min=1, help="Most calls in the whole run.")
    ] = 2000,
    task: Annotated[str | None, typer.Option("--task", help="The prompt of every call.")] = None,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=1, help="Cap on each answer's tokens.")
    ] = 64,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries per call (default 0: count errors).")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ramp concurrent calls across models; report throughput, latency, errors, threshold."""
    from codearena.experiments.stress import DEFAULT_TASK, StressRequest

    request = StressRequest(
        models=tuple(model),
        start=start,
        step=step,
        max=maximum,
        duration=duration,
        max_error_rate=max_error_rate,
        max_requests=max_requests,
        task=DEFAULT_TASK if task is None else task,
        max_tokens=max_tokens,
        retries=retries,
    )
    run_stress_command(request, as_json=as_json)


def run_stress_command(request: StressRequest, *, as_json: bool = False) -> None:
    """Run ``request`` and print its report."""
    import asyncio
    from collections import Counter

    from codearena.catalog import split_model_id
    from codearena.config import load_settings
    from codearena.experiments.common import experiment_settings
    from codearena.experiments.stress import report, run_stress
    from codearena.pipeline import Context

    request.validate()
    base = load_settings()
    per_provider = Counter(split_model_id(m.strip(), base.providers)[0] for m in request.models)
    settings = experiment_settings(
        base,
        retries=request.retries,
        concurrency={name: request.max * count for name, count in per_provider.items()},
    )
    context = Context.open(settings)

    def on_level(model: str, row: dict[str, Any]) -> None:
        if not as_json and err().is_terminal:
            err().print(
                shown(
                    f"{model}: {row['concurrency']} in flight, {row['requests']} calls, "
                    f"error rate {row['error_rate']}"
                )
            )

    async def go() -> Any:
        from codearena.gateway import Gateway

        async with Gateway(context.settings, context.catalog) as gateway:
            return await run_stress(context, gateway, request, on_level=on_level)

    run = asyncio.run(go())
    summary = report(run)
    if as_json:
        print_json(summary)
        return
    _print_stress(summary)


def _print_stress(summary: dict[str, Any]) -> None:
    from rich.table import Table

    for item in summary["models"]:
        table = Table(title=shown(f"{item['model']}: latency in ms of the successful calls"))
        for name in ("in flight", "calls", "ok/s", "median", "p90", "p99", "error rate"):
            table.add_column(name, justify="right")
        table.add_column("errors", overflow="fold")
        for row in item["levels"]:
            latency, rate = row["latency_ms"], row["error_rate"]
            classes = ", ".join(f"{k}: {n}" for k, n in row["error_classes"].items() if n)
            table.add_row(
                str(row["concurrency"]),
                str(row["requests"]) + (" (bound)" if row["truncated"] else ""),
                "-" if row["completed_per_s"] is None else f"{row['completed_per_s']:.2f}",
                _ms(latency["median"]),
                _ms(latency["p90"]),
                _ms(latency["p99"]),
                "-" if rate is None else f"{rate:.1%}",
                shown(classes or "-"),
            )
        out().print(table)
        threshold = item["failure_threshold"]
        limit = summary["run"]["max_error_rate"]
        out().print(
            shown(
                f"failure threshold: {threshold} calls in flight (error rate above {limit:.1%})"
                if threshold is not None
                else f"failure threshold: none (no level's error rate above {limit:.1%})"
            )
        )
    for warning in summary["warnings"]:
        err().print(shown(f"warning: {warning}", style="yellow"))
    out().print(
        shown(
            f"{summary['run']['requests']} calls stored as a task with source 'stress', "
            f"category {summary['run']['category']}",
            style="dim",
        )
    )
