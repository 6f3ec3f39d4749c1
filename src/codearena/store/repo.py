"""Reading and writing the pipeline's records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from codearena.catalog import ModelInfo
from codearena.errors import CodearenaError
from codearena.gateway.types import CallResult
from codearena.store.db import Store
from codearena.store.models import CatalogModel, Generation, Task
from codearena.store.platform_models import Study
from codearena.store.vocabulary import GenerationKind


def create_task(store: Store, **fields: Any) -> Task:
    with store.session() as session:
        task = Task(**fields)
        session.add(task)
    return task


def create_generation(
    store: Store,
    task_id: str,
    position: int,
    model: str,
    label: str | None,
    provider: str,
    *,
    turn: int = 1,
    parent_id: str | None = None,
    kind: GenerationKind = "answer",
    prompt: str | None = None,
) -> Generation:
    """A pending row, written before the call so that a crash leaves a trace of it. A later
    turn of a conversation names its ``parent_id`` and the ``prompt`` that asked for it."""
    with store.session() as session:
        generation = Generation(
            task_id=task_id,
            position=position,
            model=model,
            label=label,
            provider=provider,
            status="pending",
            turn=turn,
            parent_id=parent_id,
            kind=kind,
            prompt=prompt,
        )
        session.add(generation)
    return generation


RESULT_FIELDS = (
    "provider",
    "status",
    "text",
    "served_model",
    "upstream_id",
    "finish_reason",
    "error",
    "error_kind",
    "ttft_ms",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "tokens_estimated",
    "cost_usd",
    "cost_source",
    "attempts",
    "tool_calls",
)
"""The fields of a ``CallResult`` a generation stores, by the same names."""


def set_result(generation: Generation, result: CallResult) -> None:
    """Copy a finished call's figures onto its generation row."""
    for name in RESULT_FIELDS:
        setattr(generation, name, getattr(result, name))


def finish_generation(
    store: Store, generation_id: str, result: CallResult, code: list[dict[str, Any]]
) -> None:
    """Write one finished call; called as each model finishes."""
    with store.session() as session:
        generation = session.get(Generation, generation_id)
        if generation is None:
            raise LookupError(f"generation {generation_id} does not exist")
        set_result(generation, result)
        generation.code = code
        generation.finished_at = datetime.now(UTC)


def cancel_pending(store: Store, generation_ids: Iterable[str]) -> None:
    """Mark generations that never finished as cancelled (an interrupted fan-out)."""
    with store.session() as session:
        for generation_id in generation_ids:
            generation = session.get(Generation, generation_id)
            if generation is not None and generation.status == "pending":
                generation.status = "cancelled"
                generation.error = "interrupted before the answer was complete"
                generation.finished_at = datetime.now(UTC)


def list_tasks(store: Store, limit: int = 20) -> list[Task]:
    with store.session() as session:
        query = (
            select(Task)
            .options(selectinload(Task.generations))
            .order_by(Task.created_at.desc())
            .limit(limit)
        )
        return list(session.scalars(query))


def get_task(store: Store, task_id: str) -> Task | None:
    with store.session() as session:
        query = select(Task).options(selectinload(Task.generations)).where(Task.id == task_id)
        return session.scalars(query).first()


def save_catalog(store: Store, models: Iterable[ModelInfo]) -> int:
    """Insert or update synced models; returns how many were written."""
    count = 0
    with store.session() as session:
        existing = {row.id: row for row in session.scalars(select(CatalogModel))}
        for info in models:
            row = existing.get(info.id) or CatalogModel(id=info.id)
            row.label = info.label
            row.provider = info.provider
            row.upstream_id = info.upstream_id
            row.context_length = info.context_length
            row.price_input_per_m = info.price_input_per_m
            row.price_output_per_m = info.price_output_per_m
            row.source = info.source
            row.synced_at = datetime.now(UTC)
            session.add(row)
            count += 1
    return count


def load_catalog(store: Store) -> list[ModelInfo]:
    with store.session() as session:
        return [
            ModelInfo(
                row.id,
                row.label,
                row.provider,
                row.upstream_id,
                row.context_length,
                row.price_input_per_m,
                row.price_output_per_m,
                row.source,
            )
            for row in session.scalars(select(CatalogModel))
        ]


def generation_dict(generation: Generation) -> dict[str, Any]:
    return {
        "id": generation.id,
        "position": generation.position,
        "model": generation.model,
        "label": generation.label,
        "provider": generation.provider,
        "served_model": generation.served_model,
        "status": generation.status,
        "text": generation.text,
        "code": generation.code,
        "finish_reason": generation.finish_reason,
        "error": generation.error,
        "ttft_ms": generation.ttft_ms,
        "latency_ms": generation.latency_ms,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "tokens_estimated": generation.tokens_estimated,
        "cost_usd": generation.cost_usd,
        "cost_source": generation.cost_source,
        "upstream_id": generation.upstream_id,
        "attempts": generation.attempts,
    }


def task_dict(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "created_at": task.created_at.isoformat(),
        "prompt": task.prompt,
        "mode": task.prompt_style,  # the key of earlier versions; same value
        "prompt_style": task.prompt_style,
        "requirement": task.requirement,
        "tone": task.tone,
        "output_language": task.output_language,
        "temperature": task.temperature,
        "source": task.source,
        "generations": [generation_dict(g) for g in task.generations],
    }


class StudyNotFound(CodearenaError, LookupError):
    """No study matches the given id or name (or the name matches several)."""


def find_study_in(session: Session, ref: str) -> Study:
    """A study by id, or by its name when exactly one study has that name."""
    ref = ref.strip()
    study = session.get(Study, ref)
    if study is not None:
        return study
    named = list(session.scalars(select(Study).where(Study.name == ref)))
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(sorted(s.id for s in named))
        raise StudyNotFound(f"{len(named)} studies are named {ref!r} ({ids}): give the id")
    raise StudyNotFound(f"no study with id or name {ref!r} (see `codearena study list`)")


def find_study(store: Store, ref: str) -> Study:
    with store.session() as session:
        return find_study_in(session, ref)
