"""uvicorn's HTTP protocol (httptools), a response's head and body sent in one write.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and its body with the next message: two writes, so two TCP segments
and two wake-ups of the client for every small answer (about 0.1 ms of a proxied call at one
stream, BENCHMARKS.md). :class:`OneWriteProtocol` gives uvicorn's protocol a transport that
holds one write back until the next one, which then goes out with it in one piece, or until
the end of the loop's turn, whichever comes first. Nothing is reordered and nothing waits
longer than the turn it was written in: a head followed by its body (every answer whose body
is ready when it starts) goes out as one write as soon as the body is written; the head of a
stream whose first frame is not ready goes out at the end of the turn, as before.
``codearena serve`` runs uvicorn with this protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeldWrites:
    """A transport that holds one write back until the next (sent with it) or the end of the
    loop's turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._turn_end: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            if self._turn_end is None:
                self._turn_end = self._loop.call_soon(self._at_turn_end)
            return
        self._held = None
        if not self._transport.is_closing():
            self._transport.write(held + data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _at_turn_end(self) -> None:
        self._turn_end = None
        self.flush()

    def flush(self) -> None:
        """Send what is held (at the end of the turn, or before the transport closes)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`HeldWrites` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        held = HeldWrites(transport, asyncio.get_running_loop())
        super().connection_made(held)  # type: ignore[arg-type]
