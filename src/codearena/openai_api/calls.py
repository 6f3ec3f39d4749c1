"""A request to the endpoint stored like every other call: a task with source ``api`` holding
the request's messages, linked to its token (``api_calls``), and one generation written pending
first and finished with its figures and cost (``repo.finish_generation``, the pipeline's own
writer), or marked ``interrupted`` with the text that had arrived when the client went away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from codearena.answers import extract_code
from codearena.catalog import Route
from codearena.gateway import CallResult
from codearena.gateway.client import estimate_tokens
from codearena.openai_api.tokens import Caller
from codearena.store import Generation, Store, Task, repo
from codearena.store.api_models import ApiCall, ApiToken


@dataclass(frozen=True)
class StoredCall:
    task_id: str
    generation_id: str


def open_call(
    store: Store,
    caller: Caller,
    *,
    prompt: str,
    messages: list[dict[str, Any]],
    temperature: float | None,
    model: str,
    route: Route,
) -> StoredCall:
    """The task, its link to the token and the pending generation, in one transaction."""
    with store.session() as session:
        task = Task(
            prompt=prompt,
            prompt_style="plain",
            temperature=temperature,
            messages=messages,
            source="api",
        )
        session.add(task)
        session.flush()
        session.add(ApiCall(task_id=task.id, token_id=caller.token_id))
        generation = Generation(
            task_id=task.id,
            position=0,
            model=model,
            label=route.model.label,
            provider=route.provider.name,
            status="pending",
        )
        session.add(generation)
        session.flush()
        return StoredCall(task.id, generation.id)


def finish_call(store: Store, caller: Caller, call: StoredCall, result: CallResult) -> None:
    """The finished generation (text, code blocks, figures, cost) and the token's spending."""
    code = [block.to_dict() for block in extract_code(result.text)]
    repo.finish_generation(store, call.generation_id, result, code)
    if result.cost_usd:
        with store.session() as session:
            session.execute(
                update(ApiToken)
                .where(ApiToken.id == caller.token_id)
                .values(spent_usd=ApiToken.spent_usd + result.cost_usd)
            )


def interrupt_call(store: Store, call: StoredCall, text: str) -> None:
    """The client went away mid-stream: the generation keeps what had arrived."""
    with store.session() as session:
        generation = session.get(Generation, call.generation_id)
        if generation is None or generation.status != "pending":
            return
        generation.status = "interrupted"
        generation.text = text
        generation.code = [block.to_dict() for block in extract_code(text)]
        generation.error = (
            f"the client disconnected mid-stream ({len(text)} characters had arrived)"
        )
        generation.error_kind = "client_disconnected"
        generation.completion_tokens = estimate_tokens(text)
        generation.tokens_estimated = True
        generation.finished_at = datetime.now(UTC)
