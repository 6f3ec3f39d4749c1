"""The gateway's own HTTP/1.1 client (``gateway/http.py``) against real sockets: TLS with the
certificate checked, a CONNECT tunnel through the environment's proxy, connections kept alive
and not reused once closed, the read timeout, an informational response before the answer,
and bodies by length, chunked, up to the connection's end and gzip-encoded."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from codearena.gateway.http import ConnectFailed, Connections, ReadFailed
from codearena.testing.fake_upstream import FakeUpstream

CHAT = {
    "model": "openai/gpt-4o",
    "messages": [{"role": "user", "content": "ECHO:over tls"}],
    "stream": True,
}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (openssl, as Debian ships it)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_fake(certificate: tuple[Path, Path]) -> Iterator[FakeUpstream]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with FakeUpstream(tls=context) as server:
        yield server


def _trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def _events(connections: Connections, url: str) -> str:
    """The streamed answer's text."""
    async with connections.post(url, body=CHAT, headers={}) as response:
        assert response.status == 200
        chunks = [json.loads(data) async for events in response.events() for data in events]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def test_https_with_the_certificate_checked(
    tls_fake: FakeUpstream, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    url = f"{tls_fake.base_url}/chat/completions"
    assert url.startswith("https://127.0.0.1:")
    trusting = Connections(4, connect_timeout=5, read_timeout=5, tls=_trusting(certificate[0]))
    try:
        assert await _events(trusting, url) == "over tls"
    finally:
        await trusting.aclose()
    default = Connections(4, connect_timeout=5, read_timeout=5)  # certifi's CAs: not this one
    try:
        with pytest.raises(ConnectFailed, match="certificate verify failed"):
            await _events(default, url)
    finally:
        await default.aclose()
    assert len(tls_fake.requests) == 1  # the refused handshake sent nothing


@pytest.fixture
async def connect_proxy() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A forward proxy that only tunnels (CONNECT), recording each tunnel's request head."""
    heads: list[bytes] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        host, _, port = head.split(b" ")[1].decode().rpartition(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], heads


async def test_https_through_the_environments_proxy_is_a_tunnel(
    tls_fake: FakeUpstream,
    certificate: tuple[Path, Path],
    connect_proxy: tuple[int, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, heads = connect_proxy
    _no_proxy(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", f"http://someone:s%40cret@127.0.0.1:{port}")
    url = f"https://localhost:{tls_fake.port}/api/v1/chat/completions"
    connections = Connections(4, connect_timeout=5, read_timeout=5, tls=_trusting(certificate[0]))
    try:
        assert await _events(connections, url) == "over tls"
        await _events(connections, url)  # the same tunnel, kept alive
    finally:
        await connections.aclose()
    [head] = heads
    assert head.startswith(f"CONNECT localhost:{tls_fake.port} HTTP/1.1\r\n".encode())
    basic = base64.b64encode(b"someone:s@cret").decode()
    assert f"Proxy-Authorization: Basic {basic}".encode() in head
    assert [r.path for r in tls_fake.requests] == ["/api/v1/chat/completions"] * 2  # origin form
    assert tls_fake.requests[0].connection == tls_fake.requests[1].connection


async def test_a_connection_is_kept_alive_and_not_reused_once_closed(
    fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    url = f"{fake.base_url}/chat/completions"
    before = len(fake.requests)
    connections = Connections(4, connect_timeout=5, read_timeout=5)
    try:
        await _events(connections, url)
        await _events(connections, url)
        first, second = fake.requests[before:]
        assert first.connection == second.connection
        fake.stop()  # the server closes its side of the idle connection
        fake.start()
        for _ in range(100):  # until the loop has seen the close (no wall-clock assertion)
            await asyncio.sleep(0.01)
            pool = connections._pool
            assert pool is not None
            if all(c.closed for c in pool.all):
                break
        await _events(connections, f"{fake.base_url}/chat/completions")  # a new connection
        assert fake.requests[-1].connection != second.connection
    finally:
        await connections.aclose()


async def test_a_provider_silent_past_the_read_timeout_is_read_failed(
    fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    connections = Connections(4, connect_timeout=5, read_timeout=0.3)
    try:
        with pytest.raises(ReadFailed, match=r"no data from the provider for 0\.3 s"):
            body = {**CHAT, "model": "fake/hang"}
            async with connections.post(f"{fake.base_url}/chat/completions", body=body, headers={}):
                pass
    finally:
        await connections.aclose()


async def _read_request(reader: asyncio.StreamReader) -> None:
    """One request the client sent (its head and its Content-Length body), read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)


@pytest.fixture
async def raw_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """Answers each connection's first request with the next prepared response, then closes
    if that response says so."""
    responses: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while responses:
            await _read_request(reader)
            response = responses.pop(0)
            writer.write(response)
            await writer.drain()
            if b"Content-Length" not in response and b"chunked" not in response:
                break  # the body ends with the connection
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], responses


async def test_bodies_by_length_chunked_to_the_end_and_gzip(
    raw_server: tuple[int, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    port, responses = raw_server
    packed = gzip.compress(b'{"answer": "packed"}')
    responses += [
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(packed), packed),
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nRetry-After: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    ]
    connections = Connections(4, connect_timeout=5, read_timeout=5)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        async with connections.post(url, body=CHAT, headers={}) as response:
            assert (response.status, "link" in response.headers) == (200, False)  # after the 103
            assert await response.read() == b'{"answer": "packed"}'
        async with connections.post(url, body=CHAT, headers={}) as response:
            assert response.status == 429
            assert response.headers["retry-after"] == "3, 4"  # repeated headers joined
            assert await response.read() == b"hello world"
        async with connections.post(url, body=CHAT, headers={}) as response:
            assert response.headers["content-type"] == "text/plain"
            assert await response.read() == b"until the end"
        pool = connections._pool
        assert pool is not None and not any(pool.idle.values())  # HTTP/1.0: not kept
    finally:
        await connections.aclose()


async def test_a_header_with_a_line_break_is_refused_before_sending(
    fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    before = len(fake.requests)
    connections = Connections(4, connect_timeout=5, read_timeout=5)
    try:
        with pytest.raises(ConnectFailed, match="line break"):
            headers = {"Authorization": "Bearer sk\r\nX-Injected: 1"}
            async with connections.post(f"{fake.base_url}/chat/completions", body=CHAT,
                                        headers=headers):  # fmt: skip
                pass
    finally:
        await connections.aclose()
    assert len(fake.requests) == before


async def test_a_body_cut_off_is_never_taken_for_a_whole_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body without a length that stalls past the read timeout, and a gzip body that is
    corrupt or ends early, fail as ReadFailed instead of returning what arrived."""
    _no_proxy(monkeypatch)
    packed = gzip.compress(b'{"answer": "a long enough answer"}')
    answers = [
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"partial": ',
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\n" + b"x" * 12,
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(packed) - 8, packed[:-8]),
    ]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answers.pop(0))
        await writer.drain()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await reader.read()  # silent, the connection open, until the client closes it
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    connections = Connections(4, connect_timeout=5, read_timeout=0.3)
    try:
        async with server:
            for expected in ("no data from the provider", "corrupt", "ended before its end"):
                with pytest.raises(ReadFailed, match=expected):
                    async with connections.post(url, body=CHAT, headers={}) as response:
                        await response.read()
    finally:
        await connections.aclose()
