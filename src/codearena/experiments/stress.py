"""``codearena stress``: concurrency ramped across models until their calls fail.

Levels: ``start``, ``start + step``, ... up to ``max`` (:func:`levels`). At level C every model
still in the ramp has C calls in flight for ``duration`` seconds (the models at the same time):
each of its C workers starts a call, waits for it, starts the next, until the level's time is
up; the calls still running then are waited for (each ends by the gateway's total timeout) and
count in their level. After each level a model's error rate (failed calls / calls) is compared
with ``max_error_rate``: the first level where it is higher is the model's failure threshold,
and that model leaves the ramp (the others go on).

Bounds: at most ``max_requests`` calls in the whole run (default 2,000; the level that reaches
it is marked ``truncated`` and the ramp stops), ``max`` x models at most 256 calls in flight (the
gateway's HTTP client holds 256 connections), ``duration`` at most 600 s, so a run takes at most
levels x (duration + the gateway's total timeout). Calls are made with no retries unless
``retries`` is given, so a 429 is counted rather than waited out.

Every call is stored as a generation of one task with source ``stress`` (written in one
transaction after each level, so the database does not slow the ramp).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codearena.experiments.common import (
    CLASSES,
    Slot,
    configured_routes,
    create_task,
    error_class,
    internal_failure,
    store_finished,
)
from codearena.pipeline import InputError

if TYPE_CHECKING:
    from codearena.gateway import CallResult, Gateway
    from codearena.pipeline import Context

DEFAULT_TASK = "Write a Python function add(a, b) that returns a + b. Reply with the code only."
MAX_IN_FLIGHT = 256
MAX_DURATION = 600.0
MAX_REQUESTS = 100_000


@dataclass(frozen=True)
class StressRequest:
    """One stress run: models, the ramp, its bounds and what each call asks."""

    models: tuple[str, ...]
    start: int = 1
    step: int = 1
    max: int = 8
    duration: float = 10.0
    max_error_rate: float = 0.05
    max_requests: int = 2000
    task: str = DEFAULT_TASK
    max_tokens: int | None = 64
    temperature: float | None = None
    retries: int = 0

    def validate(self) -> None:
        """Raise ``InputError`` (exit status 2) for options that cannot make a run."""
        problems = []
        if not self.models:
            problems.append("choose at least one model with -m MODEL")
        if len(set(self.models)) != len(self.models):
            problems.append("a model is given twice; give each once")
        if self.start < 1 or self.step < 1:
            problems.append("--start and --step must be at least 1")
        if self.max < self.start:
            problems.append(f"--max ({self.max}) must be at least --start ({self.start})")
        if self.models and self.max * len(self.models) > MAX_IN_FLIGHT:
            problems.append(
                f"--max {self.max} x {len(self.models)} models is more than {MAX_IN_FLIGHT} "
                "calls in flight (the gateway's connection limit); lower --max"
            )
        if not 0 < self.duration <= MAX_DURATION:
            problems.append(f"--duration must be more than 0 and at most {MAX_DURATION:g} s")
        if not 0 <= self.max_error_rate < 1:
            problems.append("--max-error-rate must be at least 0 and below 1 (0.05 is 5%)")
        if not 1 <= self.max_requests <= MAX_REQUESTS:
            problems.append(f"--max-requests must be between 1 and {MAX_REQUESTS:,}")
        if self.retries < 0:
            problems.append("--retries must be 0 or more")
        if not self.task.strip():
            problems.append("the task is empty")
        if problems:
            raise InputError("; ".join(problems))


def levels(start: int, step: int, maximum: int) -> list[int]:
    """The concurrency levels of a ramp: ``start``, ``start + step``, ... while ``<= maximum``."""
    return list(range(start, maximum + 1, step)) if start >= 1 and step >= 1 else []


@dataclass(frozen=True)
class Outcome:
    """What the summary needs of one call."""

    status: str
    error_kind: str | None
    latency_ms: float | None
    ttft_ms: float | None

    @classmethod
    def of(cls, result: CallResult) -> Outcome:
        kind = result.error_kind if result.status != "ok" else None
        return cls(result.status, kind, result.latency_ms, result.ttft_ms)


# ---------------------------------------------------------------------- summary (pure)


def summarize_level(
    concurrency: int,
    outcomes: Sequence[Outcome],
    elapsed_s: float,
    *,
    truncated: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """One model's figures at one level: ``requests``, ``ok``, ``completed_per_s`` (successful
    calls per second of the level's wall time), latency and TTFT percentiles of the successful
    calls, ``error_rate`` (failed / requests), ``errors`` by gateway kind and
    ``error_classes`` (``429``, ``5xx``, ``timeout``, ``connection``, ``other``)."""
    from codearena.stats.latency import percentiles

    ok = [o for o in outcomes if o.status == "ok"]
    failed = [o for o in outcomes if o.status != "ok"]
    kinds = Counter(o.error_kind or "unknown" for o in failed)
    classes = Counter(error_class(o.error_kind) for o in failed)
    latency = percentiles([o.latency_ms for o in ok], label="latency_ms", rounds=500, seed=seed)
    ttft = percentiles([o.ttft_ms for o in ok], label="ttft_ms", rounds=500, seed=seed + 1)
    return {
        "concurrency": concurrency,
        "requests": len(outcomes),
        "ok": len(ok),
        "elapsed_s": round(elapsed_s, 3),
        "completed_per_s": round(len(ok) / elapsed_s, 3) if elapsed_s > 0 else None,
        "latency_ms": latency.to_dict(),
        "ttft_ms": ttft.to_dict(),
        "error_rate": round(len(failed) / len(outcomes), 6) if outcomes else None,
        "errors": dict(sorted(kinds.items())),
        "error_classes": {name: classes.get(name, 0) for name in CLASSES},
        "truncated": truncated,
    }


def failure_threshold(rows: Sequence[dict[str, Any]], max_error_rate: float) -> int | None:
    """The concurrency of the first level whose error rate is above ``max_error_rate``, or
    None when no level's is."""
    for row in rows:
        rate = row.get("error_rate")
        if rate is not None and rate > max_error_rate:
            return int(row["concurrency"])
    return None


# ---------------------------------------------------------------------- runner


@dataclass
class StressRun:
    """What a run did: its id, its task and the summary rows per model."""

    run_id: str
    task_id: str
    request: StressRequest
    rows: dict[str, list[dict[str, Any]]]
    thresholds: dict[str, int | None]
    requests: int
    stopped: str | None  # why the ramp ended early (the request bound), else None
    started_at: str


LevelListener = Callable[[str, dict[str, Any]], None]


async def run_stress(
    context: Context,
    gateway: Gateway,
    request: StressRequest,
    *,
    on_level: LevelListener | None = None,
) -> StressRun:
    """Ramp ``request``'s levels (see the module docstring). Raises ``InputError`` (exit
    status 2) for bad options, unknown models or models whose provider is not configured."""
    from datetime import UTC, datetime

    from codearena.gateway import ChatRequest
    from codearena.store.models import new_id

    request.validate()
    resolved = await configured_routes(context.settings, context.catalog, request.models)
    route_of = dict(zip(request.models, resolved, strict=True))
    run_id = new_id()
    started_at = datetime.now(UTC).isoformat()
    messages = [{"role": "user", "content": request.task}]
    task_id = create_task(
        context.store,
        source="stress",
        run_id=run_id,
        prompt=request.task,
        messages=messages,
        temperature=request.temperature,
    )
    rows: dict[str, list[dict[str, Any]]] = {m: [] for m in request.models}
    thresholds: dict[str, int | None] = dict.fromkeys(request.models)
    active = list(request.models)
    budget = [request.max_requests]
    position = 0
    stopped: str | None = None
    loop = asyncio.get_running_loop()

    async def level_of(
        model: str, concurrency: int, deadline: float, began: float
    ) -> tuple[list[CallResult], float]:
        """One model's calls at one level, and the seconds from the level's start to the
        end of its last call."""
        results: list[CallResult] = []

        async def worker() -> None:
            while loop.time() < deadline and budget[0] > 0:
                budget[0] -= 1
                chat = ChatRequest(
                    model, messages, request.temperature, max_tokens=request.max_tokens
                )
                try:
                    result = await gateway.complete(chat)
                except Exception as exc:  # a bug must not stop the ramp
                    result = internal_failure(model, exc)
                results.append(result)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results, time.perf_counter() - began

    for number, concurrency in enumerate(levels(request.start, request.step, request.max)):
        if not active:
            break
        if budget[0] <= 0:
            stopped = f"the request bound ({request.max_requests:,}) was reached"
            break
        began = time.perf_counter()
        deadline = loop.time() + request.duration

        outcomes = await asyncio.gather(
            *(level_of(model, concurrency, deadline, began) for model in active)
        )
        truncated = budget[0] <= 0 and loop.time() < deadline
        calls = []
        for model, (results, elapsed) in zip(active, outcomes, strict=True):
            for result in results:
                calls.append((Slot(task_id, position, model, route_of[model]), result))
                position += 1
            row = summarize_level(
                concurrency,
                [Outcome.of(r) for r in results],
                elapsed,
                truncated=truncated,
                seed=number,
            )
            rows[model].append(row)
            if on_level is not None:
                on_level(model, row)
        store_finished(context.store, calls)
        for model in list(active):
            threshold = failure_threshold(rows[model][-1:], request.max_error_rate)
            if threshold is not None:
                thresholds[model] = threshold
                active.remove(model)
        if truncated:
            stopped = f"the request bound ({request.max_requests:,}) was reached"
            break
    used = request.max_requests - budget[0]
    return StressRun(run_id, task_id, request, rows, thresholds, used, stopped, started_at)


def report(run: StressRun) -> dict[str, Any]:
    """What ``--json`` prints (the shape is in docs/experiments.md)."""
    request = run.request
    warnings = []
    if run.stopped:
        warnings.append(f"the ramp stopped early: {run.stopped}")
    return {
        "models": [
            {
                "model": model,
                "levels": run.rows[model],
                "failure_threshold": run.thresholds[model],
            }
            for model in request.models
        ],
        "warnings": warnings,
        "run": {
            "id": run.run_id,
            "category": f"stress:{run.run_id}",
            "task_id": run.task_id,
            "started_at": run.started_at,
            "levels": levels(request.start, request.step, request.max),
            "duration_s": request.duration,
            "max_error_rate": request.max_error_rate,
            "max_requests": request.max_requests,
            "requests": run.requests,
            "retries": request.retries,
            "stopped": run.stopped,
        },
    }
