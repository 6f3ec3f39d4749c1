"""A small loopback chat-completions server whose models fail above a concurrency level.

A model named ``cap-N`` (for example ``cap-2``) answers every request after ``hold`` seconds
while at most N of its requests are in flight; a request that would make N + 1 gets HTTP 429
(after ``reject_delay`` seconds, so a refused worker does not spin). Any other model name has no
cap. Answers are plain JSON (``stream`` is ignored), with usage and cost. Used by the stress
tests instead of ``codearena.testing.fake_upstream``, which has no notion of concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections import Counter
from types import TracebackType
from typing import Any


class CappedUpstream:
    def __init__(self, *, hold: float = 0.15, reject_delay: float = 0.02) -> None:
        self.hold, self.reject_delay = hold, reject_delay
        self.port = 0
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.total = self.total_peak = 0  # requests of every model in flight, and the most
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> CappedUpstream:
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve(ready)), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _serve(self, ready: threading.Event) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stop.wait()
            server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = json.loads(await reader.readexactly(length)) if length else {}
                status, payload = await self._answer(body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(body.get("model", ""))
        cap = re.search(r"cap-(\d+)", model)
        if cap and self.in_flight[model] >= int(cap.group(1)):
            self.refused[model] += 1
            await asyncio.sleep(self.reject_delay)
            return 429, {"error": {"code": 429, "message": "too many requests in flight"}}
        self.in_flight[model] += 1
        self.peak[model] = max(self.peak[model], self.in_flight[model])
        self.total += 1
        self.total_peak = max(self.total_peak, self.total)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.in_flight[model] -= 1
            self.total -= 1
        self.served[model] += 1
        return 200, {
            "id": "cmpl-1",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "OK"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
