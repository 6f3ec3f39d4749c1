"""What the two experiments share: the settings they run with, the refusal of routes whose
provider is not configured, the gateway's error kinds in classes, and the stored rows.

Every call an experiment makes is a generation of a task whose ``source`` is the experiment
(``latency`` or ``stress``) and whose ``category`` is ``<source>:<run id>``, so the calls appear
in ``codearena history`` and in the generations table like any other, with their TTFT, latency,
tokens, cost and error kind, and one run's rows are found by its category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from codearena.catalog import Catalog, Route, UnknownModel, probe_reachability, provider_status
from codearena.config import Settings, with_concurrency
from codearena.gateway import CallResult
from codearena.pipeline import InputError
from codearena.store import Generation, Store, repo
from codearena.store.models import new_id

ERROR_CLASSES: Mapping[str, str] = {
    "rate_limited": "429",
    "unavailable": "5xx",
    "timeout": "timeout",
    "first_token_timeout": "timeout",
    "connect": "connection",
    "cut": "connection",
}
"""The gateway's error kinds (``gateway/errors.py``) in the classes ``stress`` reports: ``429``
(``rate_limited``), ``5xx`` (``unavailable``: HTTP 500-599), ``timeout`` (the connect or
first-token or total timeout, HTTP 408), ``connection`` (refused, or closed before the answer
was complete); every other kind (``auth``, ``bad_request``, ``stream_error``, ...) is ``other``."""
CLASSES = ("429", "5xx", "timeout", "connection", "other")


def error_class(kind: str | None) -> str:
    """The class of a gateway error kind (see :data:`ERROR_CLASSES`)."""
    return ERROR_CLASSES.get(kind or "", "other")


def experiment_settings(
    settings: Settings, *, retries: int | None, concurrency: Mapping[str, int]
) -> Settings:
    """``settings`` with ``retries`` retries per call (None: the configured number) and each
    provider's concurrency limit raised to ``concurrency[provider]`` where that is higher: the
    experiment sets how many calls are in flight, and a lower provider limit would queue them
    (the gateway measures from when a call gets its slot, so the figures would not show it, but
    the run would not be the one asked for)."""
    gateway = (
        settings.gateway if retries is None else replace(settings.gateway, max_retries=retries)
    )
    return with_concurrency(replace(settings, gateway=gateway), concurrency)


def resolve_routes(catalog: Catalog, ids: Sequence[str], what: str = "route") -> list[Route]:
    """The route of every id; an unknown one is refused (exit status 2) with suggestions."""
    routes = []
    for model_id in ids:
        try:
            routes.append(catalog.resolve(model_id))
        except UnknownModel as exc:
            raise InputError(f"{what} {exc}") from exc
    return routes


def refuse_unconfigured(
    ids: Sequence[str], routes: Sequence[Route], reachable: Mapping[str, bool] | None
) -> None:
    """Raise :class:`InputError` (exit status 2) naming what to configure when a route's
    provider has no key, or a local provider (Ollama) does not answer: an experiment against
    it would only measure the refusal."""
    for model_id, route in zip(ids, routes, strict=True):
        provider = route.provider
        status = provider_status(provider, reachable)
        if status == "ready":
            continue
        if provider.key_env and provider.needs_key:
            fix = f"set {provider.key_env} (or {provider.key_env}_FILE, a file only you can read)"
        elif provider.local:
            fix = f"start the server at {provider.base_url} (or point its _HOST variable at one)"
        else:
            fix = f"configure [providers.{provider.name}] in codearena.toml"
        raise InputError(
            f"'{model_id}' goes through provider '{provider.name}', which is not configured "
            f"({status}): {fix}; `codearena info` shows every provider's state"
        )


async def configured_routes(
    settings: Settings, catalog: Catalog, ids: Sequence[str]
) -> list[Route]:
    """:func:`resolve_routes` and :func:`refuse_unconfigured` together, probing local
    providers only when a route uses one."""
    routes = resolve_routes(catalog, ids)
    reachable = await probe_reachability(settings) if any(r.provider.local for r in routes) else {}
    refuse_unconfigured(ids, routes, reachable)
    return routes


def create_task(
    store: Store,
    *,
    source: str,
    run_id: str,
    prompt: str,
    messages: list[dict[str, str]],
    temperature: float | None,
) -> str:
    """The stored task the calls of one prompt of a run belong to; returns its id."""
    task = repo.create_task(
        store,
        prompt=prompt,
        prompt_style="plain",
        requirement=None,
        tone=None,
        output_language=None,
        temperature=temperature,
        messages=messages,
        source=source,
        category=f"{source}:{run_id}",
    )
    return task.id


@dataclass(frozen=True)
class Slot:
    """One call to store: its task, its position in the task and its route."""

    task_id: str
    position: int
    model: str
    route: Route


def create_pending(store: Store, slots: Iterable[Slot]) -> list[str]:
    """A pending generation per slot, in one transaction (a crash leaves a trace of each);
    returns their ids in order."""
    rows = [
        Generation(
            id=new_id(),
            task_id=slot.task_id,
            position=slot.position,
            model=slot.model,
            label=slot.route.model.label,
            provider=slot.route.provider.name,
            status="pending",
        )
        for slot in slots
    ]
    with store.session() as session:
        session.add_all(rows)
    return [row.id for row in rows]


def store_finished(store: Store, calls: Iterable[tuple[Slot, CallResult]]) -> int:
    """Finished calls as generations, in one transaction; returns how many were written."""
    now = datetime.now(UTC)
    rows = []
    for slot, result in calls:
        row = Generation(
            id=new_id(),
            task_id=slot.task_id,
            position=slot.position,
            model=slot.model,
            label=slot.route.model.label,
            finished_at=now,
        )
        repo.set_result(row, result)
        row.code = []
        rows.append(row)
    with store.session() as session:
        session.add_all(rows)
    return len(rows)


def internal_failure(model: str, exc: BaseException) -> CallResult:
    """The result of a call the gateway raised on (a bug): counted as an ``internal`` error."""
    return CallResult(model, "unknown", error=f"internal error: {exc!r}", error_kind="internal")
