"""uvicorn's HTTP protocol (httptools), a response's head and body sent in one write.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and its body with the next message: two writes, so two TCP segments
and two wake-ups of the client for every small answer (about 0.1 ms of a proxied call at one
stream, BENCHMARKS.md). :class:`OneWriteProtocol` gives uvicorn's protocol a transport that
holds a write back until the next one, or until the end of the loop's turn, whichever comes
first, and then sends what it holds in one piece. Nothing is reordered and nothing waits
longer than the turn it was written in: a head followed by its body in the same turn (every
answer whose body is ready when it starts) goes out as one write; the head of a stream whose
first frame is not ready goes out at the end of the turn, as before. ``codearena serve`` runs
uvicorn with this protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeldWrites:
    """A transport whose writes of one turn of the loop go out as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what is held (at the end of the turn, or before the transport closes)."""
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`HeldWrites` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        held = HeldWrites(transport, asyncio.get_running_loop())
        super().connection_made(held)  # type: ignore[arg-type]
