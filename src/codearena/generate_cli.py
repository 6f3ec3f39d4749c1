"""``codearena generate``: a live view while answers stream in, then the answers or one JSON object."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from codearena.config import load_settings, mask_url
from codearena.evaluation import open_sandbox
from codearena.gateway import CallResult, Gateway, GatewayEvent
from codearena.pipeline import Context, InputError, run_task
from codearena.prompting import PromptOptions, extract_code
from codearena.sandbox import ExecResult, TestSpec
from codearena.terminal import escape_json, printable

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _print_json(value: Any) -> None:
    dumped = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(escape_json(dumped) + "\n")


def _shown(text: str, style: str = "") -> Text:
    """Untrusted text for Rich: control characters escaped, no markup or emoji codes read."""
    return Text(printable(text), style=style)


class _Escaped:
    """``inner`` with every rendered piece of text passed through ``printable`` once more:
    Markdown decodes character references (``&#x202e;``) after the source was escaped."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
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
        table = Table("model", "status", "tokens", "elapsed")
        now = time.perf_counter()
        for i, model in enumerate(self.models):
            elapsed = (self.ended[i] or now) - self.started
            table.add_row(
                _shown(model), _shown(self.status[i]), f"~{self.chars[i] // 4}", f"{elapsed:.1f} s"
            )
        return table


def _result_json(result: CallResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "status": result.status,
        "text": result.text,
        "code": [{"language": b.language, "source": b.source} for b in extract_code(result.text)],
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


def run_generate(
    task: str,
    model: list[str],
    requirement: str,
    tone: str,
    language: str | None,
    plain: bool,
    temperature: float,
    fallback: list[str],
    tests: Path | None,
    examples: Path | None,
    run_code: bool,
    as_json: bool,
) -> None:
    try:
        options = PromptOptions(requirement, tone, language, "plain" if plain else "study")
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    spec = _test_spec(tests, examples)
    context = Context.open(load_settings())
    sandbox = open_sandbox(context.settings.sandbox) if (spec is not None or run_code) else None
    view = _LiveView(model)

    async def go() -> Any:
        live = None if as_json or not out.is_terminal else Live(view.render(), console=err)

        def listen(event: GatewayEvent) -> None:
            view(event)
            if live is not None:
                live.update(view.render())

        async with Gateway(context.settings, context.catalog) as gateway:
            with live or nullcontext():
                return await run_task(
                    context,
                    gateway,
                    task,
                    model,
                    options,
                    temperature=temperature,
                    fallbacks=fallback or (),
                    listener=listen,
                    tests=spec,
                    sandbox=sandbox,
                )

    outcome = asyncio.run(go())
    if as_json:
        results = [
            {**_result_json(r), "execution": _execution_json(e)}
            for r, e in zip(outcome.results, outcome.executions, strict=True)
        ]
        _print_json({"task_id": outcome.task_id, "results": results})
    else:
        for result, execution in zip(outcome.results, outcome.executions, strict=True):
            _print_result(result)
            if execution is not None:
                tests_line = (
                    f", {execution.tests_passed}/{execution.tests_total} tests"
                    if execution.tests_total is not None
                    else ""
                )
                out.print(
                    _shown(
                        f"run: {execution.verdict}{tests_line}, {execution.duration_ms:.0f} ms "
                        f"({execution.backend})"
                    )
                )
        database = mask_url(context.settings.database_url)
        out.print(_shown(f"task {outcome.task_id} stored in {database}", style="dim"))
    if all(r.status == "error" for r in outcome.results):
        raise typer.Exit(1)


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
    if tests and examples:
        raise InputError("give --tests or --examples, not both")
    try:
        if tests:
            return TestSpec("python", tests.read_text(encoding="utf-8"))
        if examples:
            data = json.loads(examples.read_text(encoding="utf-8"))
            pairs = [(str(e.get("stdin", "")), str(e["stdout"])) for e in data]
            if not pairs:
                raise ValueError("the list is empty")
            return TestSpec("io", examples=pairs)
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f'{examples}: expected a JSON list of {{"stdin": ..., "stdout": ...}} objects ({exc})'
        ) from exc
    return None


def _print_result(result: CallResult) -> None:
    figures = [
        f"ttft {result.ttft_ms:.0f} ms" if result.ttft_ms is not None else None,
        f"total {result.latency_ms:.0f} ms" if result.latency_ms is not None else None,
        f"{result.prompt_tokens}+{result.completion_tokens} tokens{' (estimated)' if result.tokens_estimated else ''}"
        if result.completion_tokens is not None
        else None,
        f"${result.cost_usd:.6f}" if result.cost_usd is not None else None,
    ]
    out.rule(_shown(f"{result.model} [{result.status}]"))
    out.print(" · ".join(f for f in figures if f), markup=False)
    if result.error:
        out.print(_shown(f"error: {result.error}", style="red"))
    if result.text:
        # The answer is untrusted: control characters escaped, and links shown with their
        # address rather than as terminal hyperlinks whose target the reader cannot see.
        out.print(_Escaped(Markdown(printable(result.text), hyperlinks=False)))
