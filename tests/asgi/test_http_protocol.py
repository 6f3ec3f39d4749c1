"""A response's head and body in one write (asgi/http_protocol.py), on uvicorn's own protocol."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from codearena.asgi.http_protocol import HeldWrites, OneWriteProtocol


class _Transport(asyncio.Transport):
    """Records every write the protocol's transport receives."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _whole(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    body = b'{"answer": 42}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _streamed(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for frame in (b"data: 1\n\n", b"data: 2\n\n"):
        await asyncio.sleep(0.01)  # each frame in a later turn of the loop
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _serve_once(app: Any, request: bytes) -> _Transport:
    config = uvicorn.Config(app, http=OneWriteProtocol, log_level="warning", lifespan="off")
    config.load()
    protocol = OneWriteProtocol(config, ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(100):
        await asyncio.sleep(0.005)
        if protocol.cycle is not None and protocol.cycle.response_complete:
            break
    await asyncio.sleep(0)  # the turn in which the last write is sent
    protocol.connection_lost(None)
    return transport


REQUEST = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"


def test_a_whole_answer_goes_out_in_one_write() -> None:
    transport = asyncio.run(_serve_once(_whole, REQUEST))
    assert len(transport.writes) == 1, transport.writes  # uvicorn alone writes twice
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 14" in head
    assert body == b'{"answer": 42}'


def test_a_stream_keeps_its_frames_in_order_and_sends_each_in_its_turn() -> None:
    transport = asyncio.run(_serve_once(_streamed, REQUEST))
    assert len(transport.writes) >= 3  # the head, then each frame as it is sent
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    whole = b"".join(transport.writes)
    assert whole.endswith(b"9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n")


def test_held_writes_are_sent_before_a_close_and_dropped_by_an_abort() -> None:
    async def run() -> tuple[_Transport, _Transport]:
        loop = asyncio.get_running_loop()
        closed, aborted = _Transport(), _Transport()
        held = HeldWrites(closed, loop)
        held.write(b"head")
        assert closed.writes == [] and held.get_write_buffer_size() == 4
        held.write(memoryview(b"body"))  # the second goes out at once, with the first
        assert closed.writes == [b"headbody"] and held.get_write_buffer_size() == 0
        held.write(b"tail")
        assert closed.writes == [b"headbody"]
        held.close()
        dropped = HeldWrites(aborted, loop)
        dropped.write(b"never")
        dropped.abort()
        await asyncio.sleep(0)
        return closed, aborted

    closed, aborted = asyncio.run(run())
    assert closed.writes == [b"headbody", b"tail"] and closed.closed
    assert aborted.writes == [] and aborted.aborted


def test_a_real_server_answers_keep_alive_requests_through_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _whole, host="127.0.0.1", port=port, http=OneWriteProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.02)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            for _ in range(3):  # the same connection, kept alive
                client.sendall(REQUEST)
                answer = b""
                while not answer.endswith(b'{"answer": 42}'):
                    piece = client.recv(65536)
                    assert piece, f"the server closed the connection after {answer!r}"
                    answer += piece
                assert answer.startswith(b"HTTP/1.1 200 OK")
    finally:
        server.should_exit = True
        thread.join(10)
