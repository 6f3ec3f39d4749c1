"""The gateway's HTTP connections to the providers: one aiohttp session, kept alive.

aiohttp rather than httpx because a proxied call spends most of its CPU here: streaming one chat
completion from a loopback upstream costs about 1.1 ms of CPU with httpx and 0.35 ms with
aiohttp (its HTTP parser is C), and at hundreds of calls per second that is the difference
between keeping up and falling behind (``bench/proxy_load.py``, BENCHMARKS.md).

What the rest of the gateway sees is library-neutral: :meth:`Connections.post` yields an
:class:`UpstreamResponse` (status, headers, the whole body or its server-sent events), and a
failure of the connection is one of two exceptions, :class:`ConnectFailed` (nothing was sent:
safe to retry) and :class:`ReadFailed` (the connection broke, or went silent past the read
timeout, after the request was sent).

The session is made on first use inside the running event loop (aiohttp binds a session to
its loop) and made again if a later call runs in another loop (a CLI command's second
``asyncio.run``). The environment's proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``,
``NO_PROXY``) are honoured, looked up once per provider address rather than through aiohttp's
``trust_env``, which would also read ``~/.netrc`` in a worker thread on every request (and
refuse a request whose host it lists, as the gateway sends its own ``Authorization``). No
cookies are kept: one user's call must not carry what a provider set on another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import certifi

from codearena.gateway.sse import EventStream


class ConnectFailed(Exception):
    """The connection to the provider could not be made (refused, DNS, TLS, connect timeout)."""


class ReadFailed(Exception):
    """The connection broke (or went silent past the read timeout) after the request went."""


class UpstreamResponse:
    """One response from a provider, read as a whole or as server-sent events."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status: int = response.status
        self.headers: Mapping[str, str] = response.headers  # case-insensitive

    async def read(self) -> bytes:
        with _reading():
            return await self._response.read()

    async def events(self) -> AsyncIterator[str]:
        """The data of the body's server-sent events (:class:`EventStream`), to ``[DONE]``;
        the body is read to its end all the same."""
        stream = EventStream()
        with _reading():
            async for read in self._response.content.iter_any():
                for data in stream.feed(read):
                    yield data
        for data in stream.close():
            yield data


class Connections:
    """Up to ``size`` connections to the providers, kept alive between calls."""

    def __init__(self, size: int, *, connect_timeout: float, read_timeout: float) -> None:
        self._size = size
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tls: ssl.SSLContext | None = None
        self._proxies: dict[tuple[str, str, int | None], str | None] = {}

    def _current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.closed or self._loop is not loop:
            if self._tls is None:  # one for all: loading the CA bundle costs ~20 ms
                self._tls = ssl.create_default_context(cafile=certifi.where())
            connector = aiohttp.TCPConnector(limit=self._size, limit_per_host=0, ssl=self._tls)
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._session, self._loop = session, loop
        return session

    @contextlib.asynccontextmanager
    async def post(
        self, url: str, *, body: Any, headers: dict[str, str]
    ) -> AsyncIterator[UpstreamResponse]:
        """POST ``body`` as JSON; the response is released (its connection back to the pool,
        or closed if it was not read to the end) when the block ends."""
        session = self._current()
        try:
            response = await session.post(url, json=body, headers=headers, proxy=self._proxy(url))
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:  # nothing was sent
            raise ConnectFailed(_describe(exc)) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectFailed(f"connect timeout ({exc or 'no answer'})") from exc
        except (aiohttp.ClientError, aiohttp.ServerTimeoutError) as exc:
            raise ReadFailed(_describe(exc)) from exc
        try:
            yield UpstreamResponse(response)
        finally:
            response.release()

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for ``url``, or ``None`` (none set, or ``NO_PROXY``)."""
        try:
            parts = urllib.parse.urlsplit(url)
            key = (parts.scheme, parts.hostname or "", parts.port)
        except ValueError:  # not a URL: aiohttp says so (ConnectFailed)
            return None
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            chosen = proxies.get(parts.scheme) or proxies.get("all")
            host = parts.netloc.rpartition("@")[2]
            if chosen and urllib.request.proxy_bypass(host):
                chosen = None
            self._proxies[key] = chosen
        return self._proxies[key]

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            with contextlib.suppress(RuntimeError):  # its loop may be gone (another run's)
                await session.close()


@contextlib.contextmanager
def _reading() -> Any:
    try:
        yield
    except (aiohttp.ClientError, aiohttp.ServerTimeoutError) as exc:
        raise ReadFailed(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
