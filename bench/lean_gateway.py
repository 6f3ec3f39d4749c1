"""A third floor: the least a recording gateway must do, in Python, on raw protocols.

``bench/floor_proxy.py``'s relay copies bytes and does nothing else. This one does, for every
call, the work codearena's ``/v1/chat/completions`` cannot skip, and nothing more, on uvloop's
protocols with httptools' parsers (no uvicorn, Starlette, pydantic, aiohttp or SQLAlchemy):

- the client's request parsed, its bearer token hashed (SHA-256) and looked up, its JSON body
  read and its model and messages taken from it;
- the upstream called over a kept-alive connection with ``stream: true`` (as codearena's
  gateway always does), its chunked server-sent events split into lines, each event's JSON
  read for the text, the finish reason and the usage;
- a pending row written to SQLite (WAL, ``synchronous=NORMAL``, one transaction per turn of the
  loop) and committed before the answer goes out; the answer built as OpenAI's completion
  object and written in one piece; the finished row written 20 ms later with the others of its
  window.

It is not a gateway (no fallbacks, retries, timeouts, budgets, rate limits, error mapping,
disconnects or streaming to the client) and is not used by codearena: ``bench/proxy_load.py
--lean`` measures it beside the other floors and codearena, with the same load, to show what a
design that does only this costs on the machine at hand.

    python bench/lean_gateway.py --port P --upstream-port U --database FILE --token T
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httptools
import uvloop

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, token TEXT, model TEXT, prompt TEXT,"
    " status TEXT, text TEXT, prompt_tokens INT, completion_tokens INT, cost REAL,"
    " latency_ms REAL, created TEXT)"
)


class Rows:
    """Pending rows in one transaction per turn of the loop; finished rows 20 ms later."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.pending: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self.finished: list[tuple[Any, ...]] = []
        self.window: asyncio.TimerHandle | None = None

    def open(self, row: tuple[Any, ...]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._write_pending)
        self.pending.append((row, committed))
        return committed

    def _write_pending(self) -> None:
        rows, self.pending = self.pending, []
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO calls (id, token, model, prompt, status, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [row for row, _ in rows],
        )
        self.db.execute("COMMIT")
        for _, committed in rows:
            committed.set_result(None)

    def finish(self, row: tuple[Any, ...]) -> None:
        self.finished.append(row)
        if self.window is None:
            self.window = asyncio.get_running_loop().call_later(0.02, self._write_finished)

    def _write_finished(self) -> None:
        rows, self.finished, self.window = self.finished, [], None
        self.db.execute("BEGIN")
        self.db.executemany(
            "UPDATE calls SET status = ?, text = ?, prompt_tokens = ?, completion_tokens = ?,"
            " cost = ?, latency_ms = ? WHERE id = ?",
            rows,
        )
        self.db.execute("COMMIT")


class Upstream(asyncio.Protocol):
    """One kept-alive connection to the upstream, reading one streamed answer at a time."""

    def __init__(self, idle: list[Upstream]) -> None:
        self.idle = idle
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[Upstream] | None = None
        self.rest = b""
        self.parts: list[str] = []
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def call(self, request: bytes) -> asyncio.Future[Upstream]:
        self.answer = asyncio.get_running_loop().create_future()
        self.rest, self.parts, self.usage, self.finish_reason = b"", [], {}, None
        assert self.transport is not None
        self.transport.write(request)
        return self.answer

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        *lines, self.rest = (self.rest + body).split(b"\n")
        for line in lines:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                self.usage = chunk["usage"]
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    self.parts.append(text)
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]

    def on_message_complete(self) -> None:
        answer, self.answer = self.answer, None
        self.idle.append(self)
        if answer is not None:
            answer.set_result(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.idle:
            self.idle.remove(self)
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the upstream closed the connection"))


class Gateway:
    def __init__(self, upstream_port: int, rows: Rows, token: str) -> None:
        self.upstream_port = upstream_port
        self.rows = rows
        self.tokens = {hashlib.sha256(token.encode()).hexdigest(): "bench-token"}
        self.idle: list[Upstream] = []

    async def upstream(self, request: bytes) -> Upstream:
        if self.idle:
            connection = self.idle.pop()
        else:
            loop = asyncio.get_running_loop()
            _, connection = await loop.create_connection(
                lambda: Upstream(self.idle), "127.0.0.1", self.upstream_port
            )
        return await connection.call(request)

    async def answer(self, headers: dict[bytes, bytes], body: bytes) -> tuple[int, bytes]:
        authorization = headers.get(b"authorization", b"")
        token = self.tokens.get(hashlib.sha256(authorization[7:]).hexdigest())
        if token is None:
            return 401, b'{"error": {"message": "invalid API token", "code": "invalid_api_key"}}'
        if not body:  # the bench's readiness probe (GET .../models)
            return 200, b'{"object": "list", "data": []}'
        request = json.loads(body)
        model, messages = request["model"], request["messages"]
        upstream_body = json.dumps(
            {
                "model": model,
                "messages": messages,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ).encode()
        call_id = uuid.uuid4().hex
        start = time.perf_counter()
        call = asyncio.ensure_future(
            self.upstream(
                b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer sk-or-bench\r\nContent-Type: application/json\r\n"
                b"Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                % (len(upstream_body), upstream_body)
            )
        )
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        await self.rows.open(
            (call_id, token, model, messages[-1]["content"], "pending", now)
        )  # committed before anything is answered
        result = await call
        text, usage = "".join(result.parts), result.usage
        completion = json.dumps(
            {
                "id": f"chatcmpl-{call_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": result.finish_reason,
                    }
                ],
                "usage": usage,
            }
        ).encode()
        latency_ms = (time.perf_counter() - start) * 1000
        self.rows.finish(
            (
                "ok",
                text,
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
                usage.get("cost"),
                latency_ms,
                call_id,
            )
        )
        return 200, completion


class Client(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        headers, body = self.headers, b"".join(self.body)
        self.headers, self.body = {}, []
        asyncio.get_running_loop().create_task(self._respond(headers, body))

    async def _respond(self, headers: dict[bytes, bytes], body: bytes) -> None:
        status, answer = await self.gateway.answer(headers, body)
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, b"OK" if status == 200 else b"Unauthorized", len(answer), answer)
        )


async def serve(port: int, upstream_port: int, database: Path, token: str) -> None:
    gateway = Gateway(upstream_port, Rows(database), token)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(gateway), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def start(port: int, upstream_port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """This floor in a process of its own, taking the bench's upstream key as its token."""
    return subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__)),
            "--port",
            str(port),
            "--upstream-port",
            str(upstream_port),
            "--database",
            str(workdir / "lean.db"),
            "--token",
            "sk-or-bench",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.upstream_port, args.database, args.token))


if __name__ == "__main__":
    main()
