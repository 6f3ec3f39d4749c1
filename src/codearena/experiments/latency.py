"""``codearena latency``: the same prompts through several routes, latency compared.

The order of the calls (:func:`schedule`): for each repetition ``r`` (0 to n-1) and each prompt
``p`` in turn, every route once, in the route order rotated by ``k = r * prompts + p`` places
(routes ``A B C``: ``A B C``, then ``B C A``, then ``C A B``, ...). So every route goes first,
second, ... equally often, and a drift in time (the upstream's load, the network) falls on all
routes alike instead of on whichever route was measured last. With ``--concurrency C`` the calls
start in that order with at most C in flight.

The runner (:func:`run_latency`) stores every call as a generation (see
:mod:`codearena.experiments.common`) and returns :class:`Sample` rows; :func:`summarize` turns
samples into the report, without I/O; :func:`write_outputs` writes ``samples.csv``,
``summary.json`` and the figure.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codearena.experiments.common import (
    Slot,
    configured_routes,
    create_pending,
    create_task,
    internal_failure,
)
from codearena.pipeline import InputError

if TYPE_CHECKING:
    from codearena.gateway import CallResult, Gateway
    from codearena.pipeline import Context

MAX_CALLS = 10_000
"""The most calls one run makes (repetitions x prompts x routes)."""
MAX_CONCURRENCY = 256
"""The most calls in flight (the gateway's HTTP client holds at most 256 connections)."""
MAX_PROMPT_CHARS = 100_000
ORDER = (
    "for each repetition, for each prompt, every route once, in the route order rotated by one "
    "place at each step (k = repetition * prompts + prompt)"
)


class ExperimentInputError(InputError):
    """Bad options of an experiment (exit status 2); the message says what to change."""


@dataclass(frozen=True)
class LatencyRequest:
    """One latency run: routes (catalog ids), prompts, repetitions and how to send them."""

    routes: tuple[str, ...]
    prompts: tuple[str, ...]
    repetitions: int
    concurrency: int = 1
    temperature: float | None = None  # None: the provider's default
    max_tokens: int | None = None
    retries: int = 0  # each call is one attempt unless asked: failures are counted, not hidden
    rounds: int = 2000
    seed: int = 0
    confidence: float = 0.95

    def validate(self) -> None:
        """Raise :class:`ExperimentInputError` for options that cannot make a run."""
        problems = []
        if len(self.routes) < 2:
            problems.append("give at least two routes to compare (--route A --route B)")
        if len(set(self.routes)) != len(self.routes):
            problems.append("a route is given twice; give each once")
        if not self.prompts:
            problems.append("give a prompt: --task TEXT or --prompts FILE")
        for number, prompt in enumerate(self.prompts, start=1):
            if not prompt.strip():
                problems.append(f"prompt {number} is empty")
            elif len(prompt) > MAX_PROMPT_CHARS:
                problems.append(f"prompt {number} has more than {MAX_PROMPT_CHARS:,} characters")
        if self.repetitions < 1:
            problems.append("-n must be at least 1")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            problems.append(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if self.retries < 0:
            problems.append("--retries must be 0 or more")
        if self.rounds < 100:
            problems.append("--rounds must be at least 100")
        total = self.repetitions * len(self.prompts) * len(self.routes)
        if total > MAX_CALLS:
            problems.append(
                f"{total:,} calls (n x prompts x routes) is more than the {MAX_CALLS:,} one run "
                "makes; lower -n or split the prompts"
            )
        if problems:
            raise ExperimentInputError("; ".join(problems))


def read_prompts(path: Path) -> tuple[str, ...]:
    """Prompts from a file: a ``.json`` list of strings, a ``.jsonl`` file of ``{"prompt"}``
    objects or strings, else one prompt per line (blank lines and lines starting with ``#``
    skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentInputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ExperimentInputError(f"{path} is not UTF-8 text ({exc.reason})") from exc
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ExperimentInputError(f"{path}: not JSON ({exc}); expected a list") from exc
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            raise ExperimentInputError(f"{path}: expected a JSON list of prompt strings")
        return tuple(data)
    if path.suffix == ".jsonl":
        prompts = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ExperimentInputError(f"{path}, line {number}: not JSON ({exc})") from exc
            if isinstance(item, dict) and isinstance(item.get("prompt"), str):
                prompts.append(item["prompt"])
            elif isinstance(item, str):
                prompts.append(item)
            else:
                raise ExperimentInputError(
                    f'{path}, line {number}: expected a string or {{"prompt": "..."}}'
                )
        return tuple(prompts)
    return tuple(
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


@dataclass(frozen=True)
class Call:
    """One call of a run: its place in the order, its repetition, prompt and route."""

    sequence: int
    repetition: int
    prompt_index: int
    route: str


def schedule(routes: Sequence[str], prompts: int, repetitions: int) -> list[Call]:
    """Every call of a run in the order they start (see the module docstring)."""
    calls: list[Call] = []
    count = len(routes)
    for repetition in range(repetitions):
        for prompt in range(prompts):
            shift = (repetition * prompts + prompt) % count if count else 0
            for route in [*routes[shift:], *routes[:shift]]:
                calls.append(Call(len(calls), repetition, prompt, route))
    return calls


@dataclass(frozen=True)
class Sample:
    """One finished call: the figures the gateway measured for it."""

    sequence: int
    repetition: int
    prompt_index: int
    route: str
    status: str
    error_kind: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False
    cost_usd: float | None = None
    started_s: float | None = None  # seconds from the run's start to the call's start
    task_id: str | None = None
    generation_id: str | None = None
    error: str | None = field(default=None, compare=False)  # untrusted (from the upstream)

    @classmethod
    def of(
        cls,
        call: Call,
        result: CallResult,
        *,
        started_s: float | None = None,
        task_id: str | None = None,
        generation_id: str | None = None,
    ) -> Sample:
        return cls(
            sequence=call.sequence,
            repetition=call.repetition,
            prompt_index=call.prompt_index,
            route=call.route,
            status=result.status,
            error_kind=result.error_kind if result.status != "ok" else None,
            ttft_ms=result.ttft_ms,
            latency_ms=result.latency_ms,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            tokens_estimated=result.tokens_estimated,
            cost_usd=result.cost_usd,
            started_s=started_s,
            task_id=task_id,
            generation_id=generation_id,
            error=result.error,
        )


CSV_COLUMNS = tuple(f.name for f in fields(Sample) if f.name != "error")


@dataclass
class LatencyRun:
    """What a run did: its id, its tasks (one per prompt) and a sample per call, in order."""

    run_id: str
    request: LatencyRequest
    task_ids: list[str]
    samples: list[Sample]
    started_at: str


async def run_latency(
    context: Context,
    gateway: Gateway,
    request: LatencyRequest,
    *,
    on_sample: Callable[[Sample], None] | None = None,
) -> LatencyRun:
    """Make every call of ``request`` in :func:`schedule`'s order, at most
    ``request.concurrency`` at a time, each stored as a generation the moment it finishes.
    Raises :class:`ExperimentInputError` / ``InputError`` (exit status 2) for bad options,
    unknown routes or routes whose provider is not configured."""
    from datetime import UTC, datetime

    from codearena.answers import extract_code
    from codearena.gateway import ChatRequest
    from codearena.store import repo
    from codearena.store.models import new_id

    request.validate()
    resolved = await configured_routes(context.settings, context.catalog, request.routes)
    route_of = dict(zip(request.routes, resolved, strict=True))
    run_id = new_id()
    started_at = datetime.now(UTC).isoformat()
    messages = [[{"role": "user", "content": prompt}] for prompt in request.prompts]
    task_ids = [
        create_task(
            context.store,
            source="latency",
            run_id=run_id,
            prompt=prompt,
            messages=messages[index],
            temperature=request.temperature,
        )
        for index, prompt in enumerate(request.prompts)
    ]
    calls = schedule(request.routes, len(request.prompts), request.repetitions)
    positions = [itertools.count() for _ in request.prompts]
    slots = [
        Slot(task_ids[c.prompt_index], next(positions[c.prompt_index]), c.route, route_of[c.route])
        for c in calls
    ]
    generation_ids = create_pending(context.store, slots)
    samples: list[Sample | None] = [None] * len(calls)
    limit = asyncio.Semaphore(request.concurrency)
    origin = time.perf_counter()

    async def one(call: Call, slot: Slot, generation_id: str) -> None:
        try:
            started = time.perf_counter() - origin
            chat = ChatRequest(
                call.route,
                messages[call.prompt_index],
                request.temperature,
                max_tokens=request.max_tokens,
            )
            try:
                result = await gateway.complete(chat, index=call.sequence)
            except Exception as exc:  # a bug must not lose the other calls
                result = internal_failure(call.route, exc)
            code = [block.to_dict() for block in extract_code(result.text)]
            repo.finish_generation(context.store, generation_id, result, code)
            sample = Sample.of(
                call,
                result,
                started_s=round(started, 6),
                task_id=slot.task_id,
                generation_id=generation_id,
            )
            samples[call.sequence] = sample
            if on_sample is not None:
                on_sample(sample)
        finally:
            limit.release()

    running: list[asyncio.Task[None]] = []
    try:
        for call, slot, generation_id in zip(calls, slots, generation_ids, strict=True):
            await limit.acquire()
            running.append(asyncio.create_task(one(call, slot, generation_id)))
        await asyncio.gather(*running)
    except BaseException:  # interrupted: what finished stays, the rest says so
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        repo.cancel_pending(context.store, generation_ids)
        raise
    done = [s for s in samples if s is not None]
    return LatencyRun(run_id, request, task_ids, done, started_at)


# ---------------------------------------------------------------------- summary (pure)


def tokens_per_second(sample: Sample) -> float | None:
    """Output tokens per second of one successful call after its first token:
    ``completion_tokens / (latency - ttft)``; None when the answer came in one piece."""
    if (
        sample.status != "ok"
        or sample.completion_tokens is None
        or sample.ttft_ms is None
        or sample.latency_ms is None
        or sample.latency_ms <= sample.ttft_ms
    ):
        return None
    return sample.completion_tokens / ((sample.latency_ms - sample.ttft_ms) / 1000.0)


def summarize(
    routes: Sequence[str],
    samples: Sequence[Sample],
    *,
    rounds: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The report of a run: ``{"routes": [...], "differences": [...], "warnings": [...]}``
    (the shape is in docs/experiments.md). Latency and TTFT are summarised over the successful
    calls; ``ci_low`` / ``ci_high`` are the median's interval."""
    import numpy as np

    from codearena.stats.latency import median_difference, percentiles

    by_route: dict[str, list[Sample]] = {route: [] for route in routes}
    for sample in samples:
        by_route.setdefault(sample.route, []).append(sample)
    warnings: list[str] = []
    rows = []
    for index, route in enumerate(routes):
        mine = by_route[route]
        ok = [s for s in mine if s.status == "ok"]
        failed = [s for s in mine if s.status != "ok"]
        errors = Counter(s.error_kind or "unknown" for s in failed)
        examples: dict[str, str] = {}
        for s in failed:
            examples.setdefault(s.error_kind or "unknown", s.error or "")
        ttft = percentiles(
            [s.ttft_ms for s in ok],
            label=f"{route} ttft_ms",
            rounds=rounds,
            seed=seed + 2 * index,
            confidence=confidence,
        )
        latency = percentiles(
            [s.latency_ms for s in ok],
            label=f"{route} latency_ms",
            rounds=rounds,
            seed=seed + 2 * index + 1,
            confidence=confidence,
        )
        warnings += [*ttft.warnings, *latency.warnings]
        if failed:
            listed = ", ".join(f"{kind}: {n}" for kind, n in sorted(errors.items()))
            warnings.append(f"{route}: {len(failed)} of {len(mine)} calls failed ({listed})")
        rates = [r for r in (tokens_per_second(s) for s in ok) if r is not None]
        costs = [s.cost_usd for s in mine if s.cost_usd is not None]
        rows.append(
            {
                "route": route,
                "n": len(mine),
                "ok": len(ok),
                "ttft_ms": ttft.to_dict(),
                "latency_ms": latency.to_dict(),
                "tokens_per_s": float(np.median(rates)) if rates else None,
                "tokens_estimated": any(s.tokens_estimated for s in ok),
                "errors": dict(sorted(errors.items())),
                "error_examples": dict(sorted(examples.items())),
                "cost_usd": round(sum(costs), 10) if costs else None,
                "cost_calls": len(costs),
            }
        )
    differences = []
    for (i, a), (j, b) in itertools.combinations(enumerate(routes), 2):
        ok_a = [s for s in by_route[a] if s.status == "ok"]
        ok_b = [s for s in by_route[b] if s.status == "ok"]
        pair_seed = seed + 1000 + i * len(routes) + j
        total = median_difference(
            [s.latency_ms for s in ok_a],
            [s.latency_ms for s in ok_b],
            label=f"{a} - {b} latency_ms",
            rounds=rounds,
            seed=pair_seed,
            confidence=confidence,
        )
        first = median_difference(
            [s.ttft_ms for s in ok_a],
            [s.ttft_ms for s in ok_b],
            label=f"{a} - {b} ttft_ms",
            rounds=rounds,
            seed=pair_seed + 500,
            confidence=confidence,
        )
        warnings += [w for w in (total.warning, first.warning) if w]
        differences.append(
            {
                "a": a,
                "b": b,
                "median_latency_diff_ms": total.difference,
                "ci_low": total.ci_low,
                "ci_high": total.ci_high,
                "median_ttft_diff_ms": first.difference,
                "ttft_ci_low": first.ci_low,
                "ttft_ci_high": first.ci_high,
            }
        )
    return {"routes": rows, "differences": differences, "warnings": warnings}


def run_info(run: LatencyRun) -> dict[str, Any]:
    """The ``run`` object of the report: what was run, where it is stored, how it was ordered."""
    request = run.request
    return {
        "id": run.run_id,
        "category": f"latency:{run.run_id}",
        "task_ids": run.task_ids,
        "started_at": run.started_at,
        "prompts": len(request.prompts),
        "repetitions": request.repetitions,
        "concurrency": request.concurrency,
        "retries": request.retries,
        "calls": len(run.samples),
        "order": ORDER,
        "bootstrap": {
            "rounds": request.rounds,
            "seed": request.seed,
            "confidence": request.confidence,
        },
    }


def report(run: LatencyRun) -> dict[str, Any]:
    """The whole report of a run (what ``--json`` prints and ``summary.json`` holds)."""
    request = run.request
    summary = summarize(
        request.routes,
        run.samples,
        rounds=request.rounds,
        seed=request.seed,
        confidence=request.confidence,
    )
    return {**summary, "run": run_info(run)}


# ---------------------------------------------------------------------- files


def write_samples_csv(samples: Sequence[Sample], path: Path) -> None:
    """One row per call (:data:`CSV_COLUMNS`; the error messages stay in the store)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for sample in samples:
            row = asdict(sample)
            row.pop("error")
            writer.writerow(row)


def write_outputs(run: LatencyRun, summary: dict[str, Any], out: Path) -> list[Path]:
    """``samples.csv``, ``summary.json`` and ``latency.png`` / ``latency.svg`` in ``out``
    (created if missing); returns the paths written."""
    from codearena.experiments.figures import latency_figure

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExperimentInputError(f"cannot create {out}: {exc.strerror}") from exc
    samples_path, summary_path = out / "samples.csv", out / "summary.json"
    write_samples_csv(run.samples, samples_path)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    figures = latency_figure(run.request.routes, run.samples, out)
    return [samples_path, summary_path, *figures]
