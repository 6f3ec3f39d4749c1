"""The gateway's HTTP layer: lines split as server-sent events allow, whatever the reads; the
environment's proxies honoured; ``~/.netrc`` never read."""

from __future__ import annotations

from pathlib import Path

import pytest

from codearena.gateway.http import ConnectFailed, Connections
from codearena.gateway.sse import EventStream
from codearena.testing.fake_upstream import FakeUpstream


def _events(*reads: bytes) -> list[str]:
    stream = EventStream()
    events = [data for read in reads for data in stream.feed(read)]
    return events + stream.close()


def test_each_ending_ends_a_line_and_is_dropped() -> None:
    assert _events(b"data: a\r\ndata: b\ndata: c\rdata: d\n\n") == ["a\nb\nc\nd"]
    assert _events(b"data: x\n\n", b"data: y") == ["x", "y"]  # the last without a blank


def test_a_crlf_split_between_two_reads_is_one_ending() -> None:
    """Else the "\\n" would make an empty line, which ends an SSE event too early."""
    assert _events(b"data: a\r", b"\ndata: b\r\n\r\n") == ["a\nb"]


def test_a_line_in_many_reads_and_a_character_split_between_them() -> None:
    text = "é".encode()
    assert _events(b"da", b"ta: " + text[:1], text[1:] + b"\n", b"\n", b"data: tail") == [
        "é",
        "tail",
    ]


def test_every_split_of_a_stream_gives_its_events() -> None:
    """Reads cut anywhere (inside a character, between "\r" and "\n") give what the whole
    body gives, with "\n" endings (read a run of whole lines at a time) and with others."""
    lf = ': OPENROUTER PROCESSING\n\ndata: {"t": "héllo ✓"}\n\ndata: a\ndata: b\n\n'
    for body in (lf, lf.replace("\n", "\r\n"), lf.replace("\n\n", "\r\r")):
        raw = (body + "data: [DONE]\n\ndata: after\n\n").encode()
        whole = _events(raw)
        assert whole == ['{"t": "héllo ✓"}', "a\nb"]
        for cut in range(1, len(raw)):
            assert _events(raw[:cut], raw[cut:]) == whole, (body, cut)
        assert _events(*(raw[i : i + 1] for i in range(len(raw)))) == whole


def test_a_line_longer_than_aiohttps_limit() -> None:
    long = b"x" * 300_000
    reads = [long[i : i + 16_384] for i in range(0, len(long), 16_384)]
    assert _events(b"data: ", *reads, b"\n\ndata: next\n\n") == [long.decode(), "next"]


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


def _chat() -> dict[str, object]:
    return {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "ECHO:via"}]}


async def test_the_environments_proxy_is_used_and_no_proxy_honoured(
    fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake answers any ``.../chat/completions`` target, so as a forward proxy it receives
    the absolute URL of a provider that does not exist."""
    monkeypatch.delenv("http_proxy", raising=False)  # the lower-case name would win
    monkeypatch.setenv("HTTP_PROXY", fake.root_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = "http://provider.invalid/api/v1/chat/completions"
    connections = Connections(4, connect_timeout=2.0, read_timeout=5.0)
    try:
        async with connections.post(target, body=_chat(), headers={}) as response:
            assert response.status == 200
        assert fake.requests[-1].path == target  # a proxy's request line
    finally:
        await connections.aclose()
    monkeypatch.setenv("NO_PROXY", "provider.invalid")
    direct = Connections(4, connect_timeout=2.0, read_timeout=5.0)
    try:
        with pytest.raises(ConnectFailed):  # straight to a host that does not resolve
            async with direct.post(target, body=_chat(), headers={}):
                pass
    finally:
        await direct.aclose()


async def test_a_netrc_entry_for_the_provider_is_not_read(
    fake: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp's ``trust_env`` would add the entry's credentials, and refuse the request as
    it already has an ``Authorization`` header."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {fake.host} login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    connections = Connections(4, connect_timeout=2.0, read_timeout=5.0)
    try:
        url = f"{fake.base_url}/chat/completions"
        headers = {"Authorization": "Bearer sk-test"}
        async with connections.post(url, body=_chat(), headers=headers) as response:
            assert response.status == 200
        assert fake.requests[-1].headers["authorization"] == "Bearer sk-test"
    finally:
        await connections.aclose()


async def test_a_url_that_is_not_one_is_connect_failed() -> None:
    connections = Connections(4, connect_timeout=2.0, read_timeout=2.0)
    try:
        with pytest.raises(ConnectFailed):
            async with connections.post("http://[bad/chat/completions", body={}, headers={}):
                pass
    finally:
        await connections.aclose()
