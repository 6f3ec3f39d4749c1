"""``codearena generate``: a live view while answers stream in, then the answers or one JSON object.

The command turns its options into a :class:`GenerateRequest` and hands it to
:func:`run_generate`; the gateway, the store and the sandbox are imported when it runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from codearena.cli.output import err, out, print_json, shown
from codearena.errors import FAILURE, CodearenaError
from codearena.prompting import REQUIREMENTS, TONES
from codearena.terminal import printable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.table import Table

    from codearena.answers import CodeBlock
    from codearena.gateway import CallResult, GatewayEvent
    from codearena.sandbox import ExecResult, TestSpec


@dataclass(frozen=True)
class GenerateRequest:
    """One ``generate``: the task, the models, how to ask them and how to check the answers."""

    task: str
    models: tuple[str, ...]
    requirement: str
    tone: str
    temperature: float
    language: str | None = None
    plain: bool = False  # the task exactly as written instead of the study's prompt
    fallbacks: tuple[str, ...] = ()
    tests: Path | None = None  # Python tests every answer is run against
    examples: Path | None = None  # JSON stdin/stdout examples every answer is run against
    run_code: bool = False  # run every answer even without tests
    backend: str | None = None  # sandbox backend (default: the configured one)
    repair_rounds: int = 0  # a failed answer's failure is sent back up to this many times


def generate(
    task: Annotated[str, typer.Argument(help="The coding task, in natural language.")],
    model: Annotated[
        list[str], typer.Option("-m", "--model", help="Model id; repeat for several.")
    ],
    requirement: Annotated[
        str, typer.Option("--requirement", help=f"One of: {'; '.join(REQUIREMENTS)}")
    ] = "Generate code",
    tone: Annotated[
        str, typer.Option("--tone", help=f"One of: {', '.join(TONES)}")
    ] = "Professional",
    language: Annotated[
        str | None, typer.Option("--language", help="Output programming language.")
    ] = None,
    plain: Annotated[
        bool, typer.Option("--plain", help="Send the task as written, no study prompt.")
    ] = False,
    temperature: Annotated[float, typer.Option("--temperature")] = 0.5,
    fallback: Annotated[
        list[str] | None, typer.Option("--fallback", help="Fallback model, tried in order.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Python test code to run every answer against.")
    ] = None,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples", help='JSON list of {"stdin", "stdout"} examples for every answer.'
        ),
    ] = None,
    run_code: Annotated[
        bool, typer.Option("--run", help="Run every answer in the sandbox (implied by tests).")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help="Sandbox backend: bwrap, gvisor or unisolated (default: config)."
        ),
    ] = None,
    repair_rounds: Annotated[
        int,
        typer.Option(
            "--repair-rounds",
            min=0,
            help="Send a failed answer's failure back to its model, up to K times (needs tests).",
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send one task to every model at once, stream the answers and store everything."""
    request = GenerateRequest(
        task=task,
        models=tuple(model),
        requirement=requirement,
        tone=tone,
        temperature=temperature,
        language=language,
        plain=plain,
        fallbacks=tuple(fallback or ()),
        tests=tests,
        examples=examples,
        run_code=run_code,
        backend=backend,
        repair_rounds=repair_rounds,
    )
    run_generate(request, as_json=as_json)


def run_generate(request: GenerateRequest, *, as_json: bool = False) -> None:
    """Run ``request`` through the pipeline with a live view on stderr (on a terminal), then
    print the answers, or one JSON object with ``as_json``. Raises ``InputError`` for bad
    input and a :class:`CodearenaError` with exit status 1 when every model failed."""
    import asyncio
    from contextlib import nullcontext

    from rich.live import Live

    from codearena.config import load_settings, mask_url
    from codearena.gateway import Gateway
    from codearena.pipeline import Context, InputError, TaskOutcome, run_task
    from codearena.prompting import PromptOptions
    from codearena.repair import Rounds, repair_rounds
    from codearena.sandboxes import open_sandbox

    try:
        options = PromptOptions(
            request.requirement,
            request.tone,
            request.language,
            "plain" if request.plain else "study",
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    spec = _test_spec(request.tests, request.examples)
    if request.repair_rounds and spec is None:
        raise InputError(
            "--repair-rounds needs tests to fail: give --tests FILE.py or --examples FILE.json"
        )
    context = Context.open(load_settings())
    run = spec is not None or request.run_code
    sandbox = open_sandbox(context.settings.sandbox, request.backend) if run else None
    view = _LiveView(list(request.models))

    async def go() -> tuple[TaskOutcome, list[Rounds]]:
        live = None if as_json or not out().is_terminal else Live(view.render(), console=err())

        def listen(event: GatewayEvent) -> None:
            view(event)
            if live is not None:
                live.update(view.render())

        async with Gateway(context.settings, context.catalog) as gateway:
            with live or nullcontext():
                outcome = await run_task(
                    context,
                    gateway,
                    request.task,
                    request.models,
                    options,
                    temperature=request.temperature,
                    fallbacks=request.fallbacks,
                    listener=listen,
                    tests=spec,
                    sandbox=sandbox,
                )
                roads = [
                    Rounds([generation_id], [execution] if execution is not None else [])
                    for generation_id, execution in zip(
                        outcome.generation_ids, outcome.executions, strict=True
                    )
                ]
                if request.repair_rounds and sandbox is not None:
                    await repair_rounds(
                        context,
                        gateway,
                        sandbox,
                        task_id=outcome.task_id,
                        tests=spec,
                        language=request.language,
                        answers=roads,
                        rounds=request.repair_rounds,
                        source="cli",
                        temperature=request.temperature,
                        listener=listen,
                    )
                return outcome, roads

    outcome, roads = asyncio.run(go())
    if as_json:
        from codearena.pipeline import stored_code

        code = stored_code(context.store, outcome.generation_ids)  # as extracted on arrival
        results = []
        for result, blocks, execution, road in zip(
            outcome.results, code, outcome.executions, roads, strict=True
        ):
            item = {**_result_json(result, blocks), "execution": _execution_json(execution)}
            if request.repair_rounds:
                item["rounds"] = [_execution_json(e) for e in road.executions]
                item["passed_at_round"] = road.passed_at_round
            results.append(item)
        print_json({"task_id": outcome.task_id, "results": results})
    else:
        for result, execution, road in zip(outcome.results, outcome.executions, roads, strict=True):
            _print_result(result)
            for number, executed in enumerate(road.executions if execution is not None else []):
                tests_line = (
                    f", {executed.tests_passed}/{executed.tests_total} tests"
                    if executed.tests_total is not None
                    else ""
                )
                round_ = f" (repair round {number})" if number else ""
                out().print(
                    shown(
                        f"run{round_}: {executed.verdict}{tests_line}, {executed.duration_ms:.0f} ms "
                        f"({executed.backend})"
                    )
                )
        database = mask_url(context.settings.database_url)
        out().print(shown(f"task {outcome.task_id} stored in {database}", style="dim"))
    if all(r.status == "error" for r in outcome.results):
        raise CodearenaError("every model failed; each result's error says why", exit_code=FAILURE)


class _Escaped:
    """``inner`` with every rendered piece of text passed through ``printable`` once more:
    Markdown decodes character references (``&#x202e;``) after the source was escaped."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            text, style, control = segment
            yield segment if control else Segment(printable(text), style)


class _LiveView:
    """Per model: status, tokens so far, elapsed time."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.status = ["waiting"] * len(models)
        self.chars = [0] * len(models)
        self.started = time.perf_counter()
        self.ended: list[float | None] = [None] * len(models)

    def __call__(self, event: GatewayEvent) -> None:
        if event.kind == "start":
            self.status[event.index] = "connecting"
        elif event.kind == "delta":
            self.status[event.index] = "streaming"
            self.chars[event.index] += len(event.text)
        elif event.kind == "retry":
            self.status[event.index] = "retrying"
        elif event.kind == "done" and event.result is not None:
            self.status[event.index] = event.result.status
            self.ended[event.index] = time.perf_counter()

    def render(self) -> Table:
        from rich.table import Table

        table = Table("model", "status", "tokens", "elapsed")
        now = time.perf_counter()
        for i, model in enumerate(self.models):
            elapsed = (self.ended[i] or now) - self.started
            table.add_row(
                shown(model), shown(self.status[i]), f"~{self.chars[i] // 4}", f"{elapsed:.1f} s"
            )
        return table


def _result_json(result: CallResult, blocks: Sequence[CodeBlock]) -> dict[str, Any]:
    """One model's result for ``--json``; ``code`` is the answer's stored code blocks."""
    return {
        "model": result.model,
        "status": result.status,
        "text": result.text,
        "code": [{"language": b.language, "source": b.source} for b in blocks],
        "ttft_ms": result.ttft_ms,
        "latency_ms": result.latency_ms,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "tokens_estimated": result.tokens_estimated,
        "cost_usd": result.cost_usd,
        "served_model": result.served_model,
        "provider": result.provider,
        "finish_reason": result.finish_reason,
        "error": result.error,
    }


def _execution_json(execution: ExecResult | None) -> dict[str, Any] | None:
    if execution is None:
        return None
    keys = (
        "verdict",
        "exit_code",
        "tests_passed",
        "tests_total",
        "duration_ms",
        "stdout",
        "stderr",
        "backend",
    )
    return {key: getattr(execution, key) for key in keys}


def _test_spec(tests: Path | None, examples: Path | None) -> TestSpec | None:
    """Tests for ``generate`` from --tests (Python) or --examples (JSON stdin/stdout pairs)."""
    from codearena.pipeline import InputError
    from codearena.sandbox import TestSpec
    from codearena.testspecs import examples_from_json

    if tests and examples:
        raise InputError("give --tests or --examples, not both")
    try:
        if tests:
            return TestSpec("python", tests.read_text(encoding="utf-8"))
        if examples:
            text = examples.read_text(encoding="utf-8")
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise InputError(
                    f'{examples}: not JSON ({exc}); expected a list of {{"stdin": ..., '
                    '"stdout": ...}} objects'
                ) from exc
            return TestSpec("io", examples=examples_from_json(data, str(examples)))
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    return None


def _print_result(result: CallResult) -> None:
    from rich.markdown import Markdown

    figures = [
        f"ttft {result.ttft_ms:.0f} ms" if result.ttft_ms is not None else None,
        f"total {result.latency_ms:.0f} ms" if result.latency_ms is not None else None,
        f"{result.prompt_tokens}+{result.completion_tokens} tokens{' (estimated)' if result.tokens_estimated else ''}"
        if result.completion_tokens is not None
        else None,
        f"${result.cost_usd:.6f}" if result.cost_usd is not None else None,
    ]
    out().rule(shown(f"{result.model} [{result.status}]"))
    out().print(" · ".join(f for f in figures if f), markup=False)
    if result.error:
        out().print(shown(f"error: {result.error}", style="red"))
    if result.text:
        # The answer is untrusted: control characters escaped, and links shown with their
        # address rather than as terminal hyperlinks whose target the reader cannot see.
        out().print(_Escaped(Markdown(printable(result.text), hyperlinks=False)))
