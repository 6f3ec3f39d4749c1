"""The gateway's HTTP connections to the providers: HTTP/1.1 on asyncio's protocols, kept alive.

A proxied call spends most of its CPU here. The providers' connections were httpx's (about 1.1
ms of CPU to stream one chat completion from a loopback upstream), then aiohttp's (0.35 ms);
a gateway that parses the response with httptools (llhttp, C) straight from the protocol's
reads, with nothing else on the path, added 0.5 ms less to each call and 1 ms less to the p99
at 200 streams than the same gateway on aiohttp (``bench/lean_gateway.py``, BENCHMARKS.md).
So this module speaks HTTP/1.1 itself, on the event loop's protocols with httptools' parser:

- ``http`` and ``https`` (TLS with certifi's CA bundle, the host name checked), the request
  written in one piece (its head and JSON body), the response's head, then its body as it is
  read: ``Content-Length``, chunked, or up to the connection's end; ``gzip`` and ``deflate``
  decoded (``Accept-Encoding: identity`` is asked for, as the bodies are small);
- a connection kept alive for the next call to the same address once its response has been read
  to the end and the server has not asked to close it; one left idle for longer than
  :data:`KEEP_IDLE_S`, or closed by the server meanwhile, is not reused; at most ``size``
  requests at once;
- the environment's proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``),
  looked up once per provider address: a plain-HTTP address through the proxy's absolute-form
  request line, an ``https`` one through a ``CONNECT`` tunnel, credentials in the proxy's URL as
  ``Proxy-Authorization``; ``~/.netrc`` is never read, no cookies are kept (one user's call must
  not carry what a provider set on another's);
- a connect timeout (``ConnectFailed``) and a read timeout, the longest the provider may send
  nothing while a response is awaited (``ReadFailed``).

What the rest of the gateway sees is library-neutral: :meth:`Connections.post` yields an
:class:`UpstreamResponse` (status, headers by lower-case name, the whole body or its server-sent
events), and a failure of the connection is one of two exceptions, :class:`ConnectFailed`
(nothing was sent: safe to retry) and :class:`ReadFailed` (the connection broke, or went silent
past the read timeout, after the request was sent). The connections belong to the event loop
they were made in: a later call in another loop (a CLI command's second ``asyncio.run``) makes
new ones.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import time
import urllib.parse
import urllib.request
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import certifi
import httptools

from codearena import __version__
from codearena.gateway.sse import EventStream

KEEP_IDLE_S = 15.0
"""An idle connection is not reused after this long (servers close theirs after 5 to 120 s)."""
_PAUSE_AT = 1 << 20
"""Reading from a connection pauses while this much of its body waits to be read."""
_HEAD_LIMIT = 64 * 1024
"""A proxy's answer to ``CONNECT`` longer than this is refused."""


class ConnectFailed(Exception):
    """The connection to the provider could not be made (refused, DNS, TLS, connect timeout)."""


class ReadFailed(Exception):
    """The connection broke (or went silent past the read timeout) after the request went."""


@dataclass(frozen=True)
class _Target:
    """Where a URL's requests go: the address connected to, and the request's first lines."""

    key: tuple[str, str, int, str | None]  # scheme, host, port, proxy: one pool each
    connect_host: str
    connect_port: int
    tls_host: str | None  # the name TLS checks (https), None for plain HTTP
    tunnel: bytes | None  # a CONNECT request to the proxy first (https through a proxy)
    head: bytes  # "POST <target> HTTP/1.1", Host and the fixed headers


class _Connection(asyncio.Protocol):
    """One connection: a request at a time, its response parsed as it is read."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._tunnel: bytearray | None = None  # a proxy's answer to CONNECT, while it arrives
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._begin()

    def _begin(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.reusable = False
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._head_done = False
        self._informational = False
        self._done = False
        self._error: Exception | None = None
        self._last_read = self._loop.time()

    # ------------------------------------------------------------------ the request's side
    def send(self, request: bytes) -> None:
        self._begin()
        self._watch()
        assert self.transport is not None
        self.transport.write(request)

    async def head(self) -> None:
        while not self._head_done:
            await self._next()

    @property
    def finished(self) -> bool:
        """The response has been read to its end."""
        return self._done and not self._pieces

    async def body(self) -> AsyncIterator[bytes]:
        """The body as it arrives: what has been read since the last step, as one piece."""
        decoder = _decoder(self.headers.get("content-encoding"))
        pieces = self._pieces
        while True:
            if pieces:
                piece = b"".join(pieces)
                pieces.clear()
                self._buffered = 0
                if self._paused and self.transport:
                    self._paused = False
                    self.transport.resume_reading()
                yield _decoded(decoder, piece) if decoder else piece
                continue
            if self._error is not None:
                raise self._error
            if self._done:
                if decoder is not None:
                    yield _decoded(decoder, b"", end=True)
                return
            await self._next()

    async def _next(self) -> None:
        """Wait for the next thing the connection reads (or its failure)."""
        if self._error is None:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._error is not None:
            raise self._error

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._error is None and not self._done:
            self._error = error
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _watch(self) -> None:
        """The read timeout: one timer, moved on lazily (not once per read)."""
        if self._timer is None:
            self._timer = self._loop.call_at(self._last_read + self._read_timeout, self._check)

    def _check(self) -> None:
        self._timer = None
        if self._done or self.closed or self._error is not None:
            return
        if self._paused:  # the reader is behind, not the provider
            self._last_read = self._loop.time()
        if self._loop.time() - self._last_read >= self._read_timeout:
            self._fail(ReadFailed(f"no data from the provider for {self._read_timeout:g} s"))
        else:
            self._watch()

    def _stop_watching(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ------------------------------------------------------------------ asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._last_read = self._loop.time()
        if self._tunnel is not None:
            self._tunnel += data
            self._wake()
            return
        if self._done:  # bytes after the whole response (or while idle): never reused
            self.reusable = False
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(ReadFailed(f"the provider's response is not valid HTTP ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_watching()
        ended = exc is None and self._error is None  # closed by the server, not broken
        if ended and self._head_done and not self._done and self._ends_with_connection():
            self._done = True  # a body without a length ends with its connection
        elif not self._done and self._error is None:
            why = f" ({exc})" if exc else ""
            self._error = ReadFailed(f"the provider closed the connection{why}")
        self._wake()

    def _ends_with_connection(self) -> bool:
        return (
            "content-length" not in self.headers
            and "chunked" not in self.headers.get("transfer-encoding", "").lower()
        )

    # ------------------------------------------------------------------ httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # informational (100 Continue, 103 Early Hints): the answer follows
            self._informational = True
            self.headers = {}
            return
        self.status = status
        self.reusable = self._parser.should_keep_alive()
        self._head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)
        self._buffered += len(body)
        if self._buffered > _PAUSE_AT and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._done = True
        self._stop_watching()
        self._wake()

    # ------------------------------------------------------------------ a proxy's tunnel
    async def open_tunnel(self, request: bytes, proxy: str) -> None:
        """Send ``CONNECT`` and read the proxy's answer; raises ConnectFailed unless 2xx."""
        self._tunnel = bytearray()
        assert self.transport is not None
        self.transport.write(request)
        while b"\r\n\r\n" not in self._tunnel:
            if self.closed or len(self._tunnel) > _HEAD_LIMIT:
                raise ConnectFailed(f"the proxy {proxy} closed the tunnel before answering")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        status_line = bytes(self._tunnel).split(b"\r\n", 1)[0].decode("latin-1")
        self._tunnel = None
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].startswith("2"):
            raise ConnectFailed(f"the proxy {proxy} refused the tunnel: {status_line[:200]}")


def _decoded(decoder: Any, piece: bytes, *, end: bool = False) -> bytes:
    try:
        data: bytes = decoder.flush() if end else decoder.decompress(piece)
    except zlib.error as exc:
        raise ReadFailed(f"the provider's compressed body is corrupt ({exc})") from None
    if end and not decoder.eof:
        raise ReadFailed("the provider's compressed body ended before its end")
    return data


def _decoder(encoding: str | None) -> Any:
    """A ``zlib`` decompressor for the body's encoding, or None for none."""
    encoding = (encoding or "").strip().lower()
    if not encoding or encoding == "identity":
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise ReadFailed(f"the provider answered in an encoding not asked for ({encoding})")


class UpstreamResponse:
    """One response from a provider, read as a whole or as server-sent events."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self.status: int = connection.status
        self.headers: Mapping[str, str] = connection.headers  # by lower-case name

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self._connection.body()])

    async def events(self) -> AsyncIterator[list[str]]:
        """The data of the body's server-sent events (:class:`EventStream`), to ``[DONE]``,
        in lists: those that each read of the body completed; the body is read to its end all
        the same (the connection is then kept alive)."""
        stream = EventStream()
        async for piece in self._connection.body():
            if events := stream.feed(piece):
                yield events
        if events := stream.close():
            yield events


class _Pool:
    """The connections of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.slots = asyncio.Semaphore(size)
        self.idle: dict[tuple[str, str, int, str | None], list[_Connection]] = {}
        self.all: set[_Connection] = set()

    def drop(self, connection: _Connection) -> None:
        """Close ``connection`` (if it is open) and forget it."""
        _abort(connection)
        self.all.discard(connection)


class Connections:
    """Up to ``size`` requests at once to the providers, their connections kept alive."""

    def __init__(
        self,
        size: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._size = size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls = tls  # None: certifi's CA bundle, loaded on the first https call
        self._pool: _Pool | None = None
        self._targets: dict[str, _Target] = {}

    @contextlib.asynccontextmanager
    async def post(
        self, url: str, *, body: Any, headers: dict[str, str]
    ) -> AsyncIterator[UpstreamResponse]:
        """POST ``body`` as JSON; the connection goes back to the pool when the block ends if
        the response was read to its end, and is closed otherwise (or if the block raised)."""
        target = self._target(url)
        payload = json.dumps(body).encode()
        lines = [target.head]
        if not any(name.lower() == "user-agent" for name in headers):
            lines.append(_USER_AGENT)
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ConnectFailed(f"the header {name!r} holds a line break; nothing was sent")
            lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        lines.append(b"Content-Length: %d\r\n\r\n" % len(payload))
        lines.append(payload)
        pool = self._current()
        async with pool.slots:
            connection = await self._connection(pool, target)
            try:
                connection.send(b"".join(lines))
                await connection.head()
                yield UpstreamResponse(connection)
            except BaseException:  # a failed or abandoned read: the connection is not reused
                pool.drop(connection)
                raise
            self._release(pool, target, connection)

    def _current(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is None or pool.loop is not loop:
            if pool is not None:  # another loop's (a CLI command's earlier asyncio.run)
                _close_all(pool)
            pool = self._pool = _Pool(loop, self._size)
        return pool

    async def _connection(self, pool: _Pool, target: _Target) -> _Connection:
        idle = pool.idle.get(target.key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            transport = connection.transport
            usable = connection.reusable and transport is not None and not transport.is_closing()
            if not usable or connection.closed or now - connection.idle_since > KEEP_IDLE_S:
                pool.drop(connection)
                continue
            return connection
        connection = await self._connect(pool.loop, target)
        pool.all.add(connection)
        return connection

    async def _connect(self, loop: asyncio.AbstractEventLoop, target: _Target) -> _Connection:
        connection = _Connection(loop, self._read_timeout)
        where = f"{target.connect_host}:{target.connect_port}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                tls = self._tls_context() if target.tls_host and target.tunnel is None else None
                await loop.create_connection(
                    lambda: connection,
                    target.connect_host,
                    target.connect_port,
                    ssl=tls,
                    server_hostname=target.tls_host if tls else None,
                )
                if target.tunnel is not None:
                    await connection.open_tunnel(target.tunnel, where)
                    assert connection.transport is not None and target.tls_host is not None
                    connection.transport = await loop.start_tls(
                        connection.transport,
                        connection,
                        self._tls_context(),
                        server_hostname=target.tls_host,
                    )
        except BaseException as exc:  # no half-made connection is left open, whatever happened
            _abort(connection)
            if isinstance(exc, TimeoutError):
                message = f"connect timeout ({self._connect_timeout:g} s to {where})"
                raise ConnectFailed(message) from None
            if isinstance(exc, OSError | ValueError):  # refused, DNS, TLS (SSLError: OSError)
                raise ConnectFailed(f"{str(exc) or type(exc).__name__} ({where})") from None
            raise  # ConnectFailed from the tunnel, or cancelled
        return connection

    def _release(self, pool: _Pool, target: _Target, connection: _Connection) -> None:
        if connection.reusable and connection.finished and not connection.closed:
            connection.idle_since = time.monotonic()
            pool.idle.setdefault(target.key, []).append(connection)
        else:
            pool.drop(connection)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:  # one for all: loading the CA bundle costs ~20 ms
            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = _target_of(url)
        return target

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _close_all(pool)


def _abort(connection: _Connection) -> None:
    if connection.transport is not None and not connection.closed:
        connection.transport.abort()


def _close_all(pool: _Pool) -> None:
    for connection in pool.all:
        with contextlib.suppress(RuntimeError):  # its loop may be closed
            _abort(connection)
    pool.all.clear()
    pool.idle.clear()


_FIXED = "Accept-Encoding: identity\r\nContent-Type: application/json\r\n"
_USER_AGENT = f"User-Agent: codearena/{__version__}\r\n".encode()


def _target_of(url: str) -> _Target:
    """Where ``url``'s requests go (through the environment's proxy for it, if any)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ConnectFailed(f"not a URL: {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConnectFailed(f"not an http(s) URL: {url!r}")
    secure = parts.scheme == "https"
    port = port or (443 if secure else 80)
    authority = _authority(host, port, 443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    origin_form = f"POST {path} HTTP/1.1\r\nHost: {authority}\r\n{_FIXED}".encode()
    proxy = _proxy_for(url, parts.scheme)
    if proxy is None:
        tls_host = host if secure else None
        return _Target((parts.scheme, host, port, None), host, port, tls_host, None, origin_form)
    try:
        via = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        via_host, via_port = via.hostname, via.port or 80
    except ValueError as exc:
        raise ConnectFailed(f"the proxy {proxy!r} is not a URL ({exc})") from None
    if not via_host or via.scheme != "http":
        raise ConnectFailed(f"the proxy {proxy!r} is not an http:// proxy URL (the only kind used)")
    credentials = ""
    if via.username is not None:
        pair = f"{urllib.parse.unquote(via.username)}:{urllib.parse.unquote(via.password or '')}"
        credentials = f"Proxy-Authorization: Basic {base64.b64encode(pair.encode()).decode()}\r\n"
    key = (parts.scheme, host, port, proxy)
    if secure:  # through a tunnel: the proxy sees only the host and port
        tunnel = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{credentials}\r\n"
        return _Target(key, via_host, via_port, host, tunnel.encode(), origin_form)
    absolute = f"http://{authority}{path}"
    head = f"POST {absolute} HTTP/1.1\r\nHost: {authority}\r\n{credentials}{_FIXED}"
    return _Target(key, via_host, via_port, None, None, head.encode())


def _authority(host: str, port: int, default: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == default else f"{name}:{port}"


def _proxy_for(url: str, scheme: str) -> str | None:
    """The environment's proxy for ``url``, or ``None`` (none set, or ``NO_PROXY``)."""
    proxies = urllib.request.getproxies()
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen:
        return None
    host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    return None if urllib.request.proxy_bypass(host) else chosen
