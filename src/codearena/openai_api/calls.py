"""A request to the endpoint stored like every other call: a task with source ``api`` holding
the request's messages, linked to its token (``api_calls``), and one generation written pending
first and finished with its figures and cost (the columns ``repo.finish_generation``, the
pipeline's own writer, sets), or marked ``interrupted`` with the text that had arrived when the
client went away.

Each function here returns a record for :class:`codearena.openai_api.writer.CallWriter`, which
writes many calls' records in one transaction. The pending rows are written while the upstream
call starts and committed before anything is answered; the finished row just after the answer
has been sent. A server that stops in between leaves a pending row, which
:func:`sweep_unfinished` marks interrupted at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from codearena.answers import extract_code
from codearena.catalog import Route
from codearena.gateway import CallResult
from codearena.gateway.client import estimate_tokens
from codearena.openai_api.tokens import Caller
from codearena.openai_api.writer import Batch, Record
from codearena.store import Generation, Store
from codearena.store.api_models import ApiCall
from codearena.store.models import new_id
from codearena.store.repo import RESULT_FIELDS


@dataclass(frozen=True)
class StoredCall:
    task_id: str
    generation_id: str


def open_call(
    caller: Caller,
    *,
    prompt: str,
    messages: list[dict[str, Any]],
    temperature: float | None,
    model: str,
    route: Route,
) -> tuple[StoredCall, Record]:
    """The call's ids and the record of its task, its link to the token and its pending
    generation (one transaction: all three or none)."""
    call = StoredCall(new_id(), new_id())
    now = datetime.now(UTC)
    task = {
        "id": call.task_id,
        "created_at": now,
        "prompt": prompt,
        "prompt_style": "plain",
        "temperature": temperature,
        "messages": messages,
        "source": "api",
    }
    generation = {
        "id": call.generation_id,
        "task_id": call.task_id,
        "position": 0,
        "model": model,
        "label": route.model.label,
        "provider": route.provider.name,
        "status": "pending",
        "created_at": now,
    }

    def record(batch: Batch) -> None:
        batch.tasks.append(task)
        batch.api_calls.append({"task_id": call.task_id, "token_id": caller.token_id})
        batch.generations.append(generation)

    return call, record


def finish_call(caller: Caller, call: StoredCall, result: CallResult) -> Record:
    """The record of the finished generation (text, code blocks, figures, cost) and the
    token's spending. Its code blocks are read from the text when the record is written (in
    the writer's transaction, after the answer has gone), not on the answer's path."""
    row: dict[str, Any] = {name: getattr(result, name) for name in RESULT_FIELDS}
    row["finished_at"] = datetime.now(UTC)
    row["row_id"] = call.generation_id
    cost = result.cost_usd

    def record(batch: Batch) -> None:
        row["code"] = [block.to_dict() for block in extract_code(result.text)]
        batch.finished.append(row)
        if cost:
            batch.spent[caller.token_id] = batch.spent.get(caller.token_id, 0.0) + cost

    return record


def interrupt_call(call: StoredCall, text: str) -> Record:
    """The record of a call whose client went away mid-stream (or whose server is stopping):
    the generation keeps what had arrived, if it is still pending."""
    row = {
        "row_id": call.generation_id,
        "status": "interrupted",
        "text": text,
        "code": [block.to_dict() for block in extract_code(text)],
        "error": f"the client disconnected mid-stream ({len(text)} characters had arrived)",
        "error_kind": "client_disconnected",
        "completion_tokens": estimate_tokens(text),
        "tokens_estimated": True,
        "finished_at": datetime.now(UTC),
    }

    def record(batch: Batch) -> None:
        batch.interrupted.append(row)

    return record


SERVER_STOPPED = "server_stopped"
"""The ``error_kind`` of a call a stopped server left unfinished."""


def sweep_unfinished(store: Store, older_than_s: float) -> int:
    """Calls of the endpoint left pending by a server that stopped (or died) before their
    records were complete, older than any call can last, are marked ``interrupted``; returns
    how many. What their answers were is not known: their text stays empty."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    statement = (
        update(Generation)
        .where(
            Generation.status == "pending",
            Generation.created_at < cutoff,
            Generation.task_id.in_(select(ApiCall.task_id)),
        )
        .values(
            status="interrupted",
            error="the server stopped before this call's record was complete",
            error_kind=SERVER_STOPPED,
            finished_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    )
    with store.session() as session:
        return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
