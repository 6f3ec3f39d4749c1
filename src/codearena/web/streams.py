"""Live tasks: gateway events fanned out to per-task subscribers, and the SSE wire format.

A ``LiveTask`` keeps each answer's state so that a subscriber arriving late (or an
EventSource reconnecting) first gets a snapshot, then the live events. What a subscriber sees
of an answer is decided by ``present``, which hides model identities in blind mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from codearena.gateway import CallResult, GatewayEvent

KEEPALIVE_S = 15.0
# what a blind page hears of a retry: the upstream's message may name the model
BLIND_RETRY_REASON = "the provider asked to wait (rate limit or a passing error); retrying"
log = logging.getLogger(__name__)
Event = dict[str, Any]


@dataclass
class AnswerState:
    position: int
    turn: int = 1  # the answer's turn in its conversation (1 = the first answer)
    status: str = "pending"  # pending (no token yet) | streaming | ok | error
    text: str = ""
    result: CallResult | None = None
    retries: int = 0  # retries announced by the gateway before the first token
    retry_reason: str | None = None  # the last one's, as the page may show it
    first_token_at: float | None = None  # server clock (epoch seconds)
    finished_at: float | None = None


def seconds_since(start: float, moment: float | None) -> float | None:
    """A page's elapsed time: seconds from the task's start, to 0.1 s (never negative)."""
    return None if moment is None else round(max(moment - start, 0.0), 1)


def timing_dict(
    start: float, marks: list[tuple[float | None, float | None]], complete: bool, now: float
) -> dict[str, Any]:
    """Elapsed times of a task by answer position (first token, end), from server timestamps.

    Only seconds since the task's start, by position: no model id, no figure of a call, so a
    blind task can carry it before the vote (it is what the page showed while it streamed)."""
    answers = [
        {
            "position": i,
            "first_token_s": seconds_since(start, first),
            "finished_s": seconds_since(start, end),
        }
        for i, (first, end) in enumerate(marks)
    ]
    ends = [a["finished_s"] for a in answers if a["finished_s"] is not None]
    elapsed = (max(ends) if ends else None) if complete else seconds_since(start, now)
    return {"elapsed_s": elapsed, "answers": answers}


Present = Callable[[AnswerState], dict[str, Any]]


def _turn(turn: int) -> dict[str, int]:
    """An event of a later turn says which (turn 1's events keep their keys)."""
    return {} if turn == 1 else {"turn": turn}


@dataclass
class LiveTask:
    id: str
    present: Present
    answers: list[AnswerState]
    complete: bool = False
    named: bool = False  # named mode: a retry's reason is the upstream's message
    round: int = 1  # 1: the task's answers; N: a follow-up or repair round (turns up to N)
    started_at: float = field(default_factory=time.time)  # the task's created_at
    subscribers: set[asyncio.Queue[Event]] = field(default_factory=set)

    def on_event(self, event: GatewayEvent) -> None:
        """The gateway listener (called synchronously in the event loop); never raises."""
        try:
            self._apply(event)
        except Exception:  # a display bug must not turn a model's answer into an error
            log.exception("live task %s: event %s could not be shown", self.id, event.kind)

    def _apply(self, event: GatewayEvent) -> None:
        answer = self.answers[event.index]
        if event.kind == "start":  # the call has its slot; "streaming" waits for a token
            self._publish({"type": "start", "position": answer.position, **_turn(answer.turn)})
        elif event.kind == "delta":
            if answer.first_token_at is None:
                answer.first_token_at = time.time()
            answer.status = "streaming"
            answer.text += event.text
            self._publish(
                {
                    "type": "delta",
                    "position": answer.position,
                    **_turn(answer.turn),
                    "text": event.text,
                }
            )
        elif event.kind == "retry":
            answer.retries += 1
            reason = event.text if self.named and event.text else BLIND_RETRY_REASON
            answer.retry_reason = reason
            self._publish(
                {
                    "type": "retry",
                    "position": answer.position,
                    **_turn(answer.turn),
                    "retries": answer.retries,
                    "reason": reason,
                }
            )
        elif event.kind == "done" and event.result is not None:
            answer.finished_at = time.time()
            if answer.first_token_at is None and event.result.text:
                answer.first_token_at = answer.finished_at
            answer.result = event.result
            answer.status = event.result.status
            answer.text = event.result.text
            self._publish({"type": "done", **self.present(answer)})

    def snapshot(self) -> Event:
        return {
            "type": "snapshot",
            **_turn(self.round),
            "complete": self.complete,
            "answers": [self.present(a) for a in self.answers],
            "timing": self.timing(),
        }

    def timing(self) -> dict[str, Any]:
        marks = [(a.first_token_at, a.finished_at) for a in self.answers]
        if self.round != 1:  # by position, as every timing is: a round may skip a position
            by_position = {a.position: (a.first_token_at, a.finished_at) for a in self.answers}
            marks = [by_position.get(i, (None, None)) for i in range(max(by_position) + 1)]
        return timing_dict(self.started_at, marks, self.complete, time.time())

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
