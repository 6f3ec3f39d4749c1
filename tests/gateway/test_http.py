"""The gateway's HTTP layer: lines split as server-sent events allow, whatever the reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from codearena.gateway.http import ConnectFailed, Connections, split_lines


async def _lines(*reads: bytes) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    return [line async for line in split_lines(source())]


async def test_each_ending_ends_a_line_and_is_dropped() -> None:
    assert await _lines(b"a\r\nb\nc\rd") == ["a", "b", "c", "d"]
    assert await _lines(b"data: x\n\n") == ["data: x", ""]


async def test_a_crlf_split_between_two_reads_is_one_ending() -> None:
    """Else the "\\n" would make an empty line, which ends an SSE event too early."""
    assert await _lines(b"data: a\r", b"\ndata: b\r\n\r\n") == ["data: a", "data: b", ""]


async def test_a_line_in_many_reads_and_a_character_split_between_them() -> None:
    text = "é".encode()
    assert await _lines(b"da", b"ta: " + text[:1], text[1:] + b"\n", b"tail") == [
        "data: é",
        "tail",
    ]


async def test_a_line_longer_than_aiohttps_limit() -> None:
    long = b"x" * 300_000
    reads = [long[i : i + 16_384] for i in range(0, len(long), 16_384)]
    assert await _lines(*reads, b"\nnext\n") == [long.decode(), "next"]


async def test_a_refused_connection_is_connect_failed() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once it is closed
    connections = Connections(4, connect_timeout=2.0, read_timeout=2.0)
    try:
        with pytest.raises(ConnectFailed):
            async with connections.post(f"http://127.0.0.1:{port}/x", body={}, headers={}):
                pass
    finally:
        await connections.aclose()
