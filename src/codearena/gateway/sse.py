"""Server-sent events as OpenAI-compatible APIs send them, parsed from the body's reads.

:class:`EventStream` is fed the body as it is read, in pieces of any size, and gives back the
data of each event completed so far. Lines end with ``\\r\\n``, ``\\n`` or ``\\r`` (as
server-sent events allow; a ``\\r\\n`` split between two reads is one ending), are decoded as
UTF-8 once whole (a character split between reads is kept whole) and may be of any length
(a line reader with a limit, as aiohttp's of 64 KiB, would refuse a tool call's arguments
sent as one long ``data:`` line). Lines starting with ``:`` are comments (OpenRouter's keep-alive
``: OPENROUTER PROCESSING``) and are skipped; ``data:`` lines of one event are joined; other
fields are ignored; ``[DONE]`` ends the stream, and what follows it is ignored (the body is
still read to its end by the caller, so that the HTTP connection goes back to the pool instead
of being closed). At the end of the body, :meth:`EventStream.close` gives an event that had no
blank line after it.

The framing lives here whole (line endings and events), as plain code fed by the one async loop
that reads the body (:meth:`codearena.gateway.http.UpstreamResponse.events`).
"""

from __future__ import annotations

DONE = "[DONE]"


class EventStream:
    """The data of the events of one body, fed as it is read."""

    def __init__(self) -> None:
        self._pending = b""  # an unfinished line, or one ending in "\r" (its "\n" may follow)
        self._data: list[str] = []  # the data lines of the event being read
        self.done = False  # [DONE] has arrived

    def feed(self, read: bytes) -> list[str]:
        """The data of the events that ``read`` completed."""
        pending = self._pending + read if self._pending else read
        events: list[str] = []
        if b"\r" not in pending:  # lines ending in "\n" alone, as the providers send them
            end = pending.rfind(b"\n")
            if end < 0:
                self._pending = pending
                return events
            self._pending = pending[end + 1 :]
            # whole lines only, so no character is split: decoded at once, not line by line
            for text in pending[:end].decode("utf-8", "replace").split("\n"):
                self._line(text, events)
            return events
        if b"\n" not in read and b"\r" not in read:
            self._pending = pending
            return events
        lines = pending.splitlines(keepends=True)
        last = lines[-1]
        self._pending = lines.pop() if last.endswith(b"\r") or not last.endswith(b"\n") else b""
        for line in lines:
            self._line(_decoded(line), events)
        return events

    def close(self) -> list[str]:
        """At the end of the body: the data of an event it did not end with a blank line."""
        events: list[str] = []
        if self._pending:
            self._line(_decoded(self._pending), events)
            self._pending = b""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[str]) -> None:
        if self.done:
            return
        if not line:
            if self._data:
                data = "\n".join(self._data)
                self._data.clear()
                if data == DONE:
                    self.done = True
                else:
                    events.append(data)
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)


def _decoded(line: bytes) -> str:
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith((b"\n", b"\r")):
        line = line[:-1]
    return line.decode("utf-8", "replace")
