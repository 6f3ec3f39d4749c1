"""A request to the endpoint stored like every other call: a task with source ``api`` holding
the request's messages, linked to its token (``api_calls``), and one generation written pending
first and finished with its figures and cost (the columns ``repo.finish_generation``, the
pipeline's own writer, sets), or marked ``interrupted`` with the text that had arrived when the
client went away.

Each function here returns a record for :class:`codearena.openai_api.writer.CallWriter`, which
writes many calls' records in one transaction. The pending rows are written while the upstream
call starts, the finished row once it has ended; a request awaits both before it answers, so
the rows are committed before the response is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codearena.answers import extract_code
from codearena.catalog import Route
from codearena.gateway import CallResult
from codearena.gateway.client import estimate_tokens
from codearena.openai_api.tokens import Caller
from codearena.openai_api.writer import Batch, Record
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
    token's spending."""
    row: dict[str, Any] = {name: getattr(result, name) for name in RESULT_FIELDS}
    row["code"] = [block.to_dict() for block in extract_code(result.text)]
    row["finished_at"] = datetime.now(UTC)
    row["row_id"] = call.generation_id
    cost = result.cost_usd

    def record(batch: Batch) -> None:
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
