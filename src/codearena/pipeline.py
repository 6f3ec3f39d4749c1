"""The one pipeline behind the CLI, the web platform and batch runs: task -> fan-out -> store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from codearena.answers import CodeBlock, extract_code, stored_blocks
from codearena.catalog import Catalog, UnknownModel
from codearena.checks import ChecksUnavailable
from codearena.config import Settings, load_settings
from codearena.errors import CodearenaError
from codearena.evaluation import Answer, check_answers, execute_answer
from codearena.gateway import CallResult, ChatRequest, Gateway, GatewayEvent, Listener
from codearena.prompting import DEFAULT_TEMPERATURE, PromptOptions, build_messages
from codearena.sandbox import ExecResult, Sandbox, TestSpec
from codearena.store import Generation, Store, repo
from codearena.store.vocabulary import GenerationKind
from codearena.testspecs import spec_to_json

MAX_TASK_CHARS = 100_000
log = logging.getLogger(__name__)


class InputError(CodearenaError, ValueError):
    """Bad input from a user; the message says what to do."""


@dataclass
class Context:
    """Settings, store and catalog, opened once per command or server."""

    settings: Settings
    store: Store
    catalog: Catalog

    @classmethod
    def open(cls, settings: Settings | None = None) -> Context:
        settings = settings or load_settings()
        store = Store(settings.database_url)
        return cls(settings, store, Catalog(settings, repo.load_catalog(store)))


@dataclass
class TaskOutcome:
    task_id: str
    results: list[CallResult]
    generation_ids: list[str]
    executions: list[ExecResult | None] = field(default_factory=list)


def validate_task(text: str) -> str:
    if not text or not text.strip():
        raise InputError("the task is empty: describe what the code should do")
    if len(text) > MAX_TASK_CHARS:
        raise InputError(
            f"the task has {len(text):,} characters; the limit is {MAX_TASK_CHARS:,}. Shorten it."
        )
    return text


def validate_models(catalog: Catalog, models: Sequence[str]) -> list[str]:
    if not models:
        raise InputError("choose at least one model with -m MODEL (see `codearena models`)")
    for model in models:
        try:
            catalog.resolve(model)
        except UnknownModel as exc:
            raise InputError(str(exc)) from exc
    return list(models)


async def run_task(
    context: Context,
    gateway: Gateway,
    task: str,
    models: Sequence[str],
    options: PromptOptions,
    *,
    temperature: float | None = DEFAULT_TEMPERATURE,
    source: str = "cli",
    fallbacks: Sequence[str] = (),
    listener: Listener | None = None,
    checks: bool = True,
    tests: TestSpec | None = None,
    sandbox: Sandbox | None = None,
    on_stored: Callable[[str], None] | None = None,
) -> TaskOutcome:
    """Validate, store the task, fan out, and store each generation as it finishes."""
    validate_task(task)
    validate_models(context.catalog, [*models, *fallbacks])
    messages = build_messages(task, options)
    stored = repo.create_task(
        context.store,
        prompt=task,
        prompt_style=options.prompt_style,
        requirement=options.requirement if options.prompt_style == "study" else None,
        tone=options.tone if options.prompt_style == "study" else None,
        output_language=options.language,
        temperature=temperature,
        messages=messages,
        source=source,
        tests=spec_to_json(tests) if tests else None,
    )
    results, generation_ids = await generate_into(
        context,
        gateway,
        stored.id,
        messages,
        list(models),
        temperature=temperature,
        fallbacks=fallbacks,
        listener=listener,
        on_pending=(lambda _ids: on_stored(stored.id)) if on_stored else None,
    )
    if checks:
        await check_generations(context, results, generation_ids, options.language)
    executions: list[ExecResult | None] = [None] * len(results)
    if sandbox is not None:
        code = stored_code(context.store, generation_ids)
        runs = {
            index: execute_answer(
                context.store,
                sandbox,
                task_id=stored.id,
                generation_id=generation_id,
                blocks=blocks,
                language=options.language,
                tests=tests,
                source=source,
            )
            for index, (result, generation_id, blocks) in enumerate(
                zip(results, generation_ids, code, strict=True)
            )
            if result.status == "ok"
        }
        for index, outcome in zip(runs, await asyncio.gather(*runs.values()), strict=True):
            executions[index] = outcome.result
    return TaskOutcome(stored.id, results, generation_ids, executions)


async def check_generations(
    context: Context,
    results: Sequence[CallResult],
    generation_ids: Sequence[str],
    language: str | None,
) -> None:
    """Static findings for every answer that has code, in one batch; a missing checker never
    loses answers."""
    code = stored_code(context.store, generation_ids)
    lang = language and language.lower()
    answers = [
        Answer(generation_id, blocks, lang)
        for result, generation_id, blocks in zip(results, generation_ids, code, strict=True)
        if result.text
    ]
    try:
        await check_answers(context.store, answers)
    except ChecksUnavailable as exc:
        log.warning("static checks skipped: %s", exc)


def stored_code(store: Store, generation_ids: Sequence[str]) -> list[list[CodeBlock]]:
    """The code blocks stored with each generation (extracted once, when it finished)."""
    with store.session() as session:
        rows = session.scalars(select(Generation).where(Generation.id.in_(list(generation_ids))))
        code = {row.id: (row.code, row.text) for row in rows}
    return [stored_blocks(*code.get(i, ([], ""))) for i in generation_ids]


@dataclass(frozen=True)
class Turn:
    """One call to make and store: a model at a position of a task, with the messages it is
    sent. A first answer is turn 1; a follow-up or repair round continues ``parent_id`` with
    ``prompt`` (see :mod:`codearena.conversations`)."""

    model: str
    position: int
    messages: list[dict[str, str]]
    turn: int = 1
    parent_id: str | None = None
    kind: GenerationKind = "answer"
    prompt: str | None = None


async def generate_into(
    context: Context,
    gateway: Gateway,
    task_id: str,
    messages: list[dict[str, str]],
    models: list[str],
    *,
    temperature: float | None = DEFAULT_TEMPERATURE,
    fallbacks: Sequence[str] = (),
    first_position: int = 0,
    listener: Listener | None = None,
    on_pending: Callable[[list[str]], None] | None = None,
) -> tuple[list[CallResult], list[str]]:
    """Add one generation per model to a stored task, each written the moment it finishes."""
    turns = [Turn(model, first_position + i, messages) for i, model in enumerate(models)]
    return await generate_turns(
        context,
        gateway,
        task_id,
        turns,
        temperature=temperature,
        fallbacks=fallbacks,
        listener=listener,
        on_pending=on_pending,
    )


async def generate_turns(
    context: Context,
    gateway: Gateway,
    task_id: str,
    turns: Sequence[Turn],
    *,
    temperature: float | None = DEFAULT_TEMPERATURE,
    fallbacks: Sequence[str] = (),
    listener: Listener | None = None,
    on_pending: Callable[[list[str]], None] | None = None,
) -> tuple[list[CallResult], list[str]]:
    """The one way calls are made and stored: a pending row per turn first (a crash leaves a
    trace), all calls at once, each generation written the moment it finishes (its code blocks
    extracted then, once), and the unfinished ones marked cancelled if interrupted."""
    generation_ids = []
    for turn in turns:
        route = context.catalog.resolve(turn.model)
        row = repo.create_generation(
            context.store,
            task_id,
            turn.position,
            turn.model,
            route.model.label,
            route.provider.name,
            turn=turn.turn,
            parent_id=turn.parent_id,
            kind=turn.kind,
            prompt=turn.prompt,
        )
        generation_ids.append(row.id)
    if on_pending is not None:
        on_pending(generation_ids)

    def on_event(event: GatewayEvent) -> None:
        if event.kind == "done" and event.result is not None:
            code = [block.to_dict() for block in extract_code(event.result.text)]
            repo.finish_generation(context.store, generation_ids[event.index], event.result, code)
        if listener is not None:
            listener(event)

    requests = [
        ChatRequest(turn.model, turn.messages, temperature, fallbacks=tuple(fallbacks))
        for turn in turns
    ]
    try:
        results = await gateway.fan_out(requests, on_event)
    except BaseException:  # cancelled or interrupted: what finished stays, the rest says so
        repo.cancel_pending(context.store, generation_ids)
        raise
    return results, generation_ids
