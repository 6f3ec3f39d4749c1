"""Server-sent events as OpenAI-compatible APIs send them.

Lines starting with ``:`` are comments (OpenRouter's keep-alive ``: OPENROUTER PROCESSING``) and are
skipped; ``data:`` lines of one event are joined; ``[DONE]`` ends the stream. The lines after
``[DONE]`` are still read (and ignored) so that the HTTP connection is returned to the pool
instead of being closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

DONE = "[DONE]"


async def iter_sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """Yield the data payload of each event, ending at ``[DONE]`` or the end of the stream."""
    buffer: list[str] = []
    done = False
    async for raw in lines:
        if done:
            continue
        line = raw.rstrip("\r\n")
        if not line:
            if buffer:
                data = "\n".join(buffer)
                buffer.clear()
                if data == DONE:
                    done = True
                    continue
                yield data
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer and not done:
        data = "\n".join(buffer)
        if data != DONE:
            yield data
