"""Live tasks: gateway events fanned out to per-task subscribers, and the SSE wire format.

A ``LiveTask`` keeps each answer's state so that a subscriber arriving late (or an
EventSource reconnecting) first gets a snapshot, then the live events. What a subscriber sees
of an answer is decided by ``present``, which hides model identities in blind mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from codearena.gateway import CallResult, GatewayEvent

KEEPALIVE_S = 15.0
log = logging.getLogger(__name__)
Event = dict[str, Any]


@dataclass
class AnswerState:
    position: int
    status: str = "pending"  # pending | streaming | ok | error
    text: str = ""
    result: CallResult | None = None


Present = Callable[[AnswerState], dict[str, Any]]


@dataclass
class LiveTask:
    id: str
    present: Present
    answers: list[AnswerState]
    complete: bool = False
    subscribers: set[asyncio.Queue[Event]] = field(default_factory=set)

    def on_event(self, event: GatewayEvent) -> None:
        """The gateway listener (called synchronously in the event loop); never raises."""
        try:
            self._apply(event)
        except Exception:  # a display bug must not turn a model's answer into an error
            log.exception("live task %s: event %s could not be shown", self.id, event.kind)

    def _apply(self, event: GatewayEvent) -> None:
        answer = self.answers[event.index]
        if event.kind == "start":
            answer.status = "streaming"
            self._publish({"type": "start", "position": event.index})
        elif event.kind == "delta":
            answer.status = "streaming"
            answer.text += event.text
            self._publish({"type": "delta", "position": event.index, "text": event.text})
        elif event.kind == "retry":
            self._publish({"type": "retry", "position": event.index})
        elif event.kind == "done" and event.result is not None:
            answer.result = event.result
            answer.status = event.result.status
            answer.text = event.result.text
            self._publish({"type": "done", **self.present(answer)})

    def snapshot(self) -> Event:
        return {
            "type": "snapshot",
            "complete": self.complete,
            "answers": [self.present(a) for a in self.answers],
        }

    def finish(self, error: str | None = None) -> None:
        self.complete = True
        self._publish({"type": "end", "error": error})

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self.subscribers.discard(queue)

    def _publish(self, event: Event) -> None:
        for queue in list(self.subscribers):
            queue.put_nowait(event)


class TaskHub:
    """The tasks whose answers are still arriving, by study-task id."""

    def __init__(self) -> None:
        self._live: dict[str, LiveTask] = {}

    def add(self, live: LiveTask) -> None:
        self._live[live.id] = live

    def get(self, task_id: str) -> LiveTask | None:
        return self._live.get(task_id)

    def remove(self, task_id: str) -> None:
        self._live.pop(task_id, None)


def sse_frame(event: Event) -> str:
    return f"data: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def sse_stream(
    live: LiveTask | None, stored_snapshot: Callable[[], Event]
) -> AsyncIterator[str]:
    """Snapshot first, then live events until ``end`` (stored tasks: snapshot and end)."""
    if live is None or live.complete:
        yield sse_frame(stored_snapshot())
        yield sse_frame({"type": "end", "error": None})
        return
    queue = live.subscribe()
    try:
        yield sse_frame(live.snapshot())
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield sse_frame(event)
            if event["type"] == "end":
                return
    finally:
        live.unsubscribe(queue)
