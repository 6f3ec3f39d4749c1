"""The floors under any proxy: a Python relay that only copies bytes, and nginx.

Each client connection gets its own connection to the upstream, opened when the client connects,
and every byte read from one side is written to the other, on uvloop (codearena's own loop) with
asyncio's protocols (no streams, no parsing, no copies beyond the transports'). It authenticates
nothing, routes nothing and records nothing: whatever ``bench/proxy_load.py --floor`` measures for
it is the cost of the two extra hops a proxy adds (client to proxy, proxy to upstream, and back)
in a Python process on this machine, below which no Python gateway can go.

    python bench/floor_proxy.py --port P --upstream-port U

:func:`start_relay` and :func:`start_nginx` start either floor for ``bench/proxy_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

import uvloop


class _Side(asyncio.Protocol):
    """One end of a relayed pair: what it reads goes to its peer's transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.held: list[bytes] = []  # read before the peer was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.held.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


class _Client(_Side):
    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, upstream = await loop.create_connection(_Side, "127.0.0.1", self.upstream_port)
        upstream.peer, self.peer = self, upstream
        for data in self.held:
            upstream.transport.write(data)  # type: ignore[union-attr]
        self.held.clear()


async def serve(port: int, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(upstream_port), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def start_relay(port: int, upstream_port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """This relay in a process of its own."""
    script = Path(__file__)
    return subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), "--upstream-port", str(upstream_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 8192; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    upstream codearena_bench {{ server 127.0.0.1:{upstream}; keepalive 1024; }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://codearena_bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def start_nginx(port: int, upstream_port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """nginx as the proxy, one worker like codearena's one process, kept-alive upstream
    connections, responses passed on as they arrive (``proxy_buffering off``)."""
    nginx = next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if Path(p).exists()), None)
    if nginx is None:
        raise SystemExit("--nginx needs nginx: apt-get install nginx-light")
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, upstream=upstream_port, port=port))
    return subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.upstream_port))


if __name__ == "__main__":
    main()
