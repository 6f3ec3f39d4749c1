"""The floor under any proxy written in Python: a relay that only copies bytes.

Each client connection gets its own connection to the upstream, opened when the client connects,
and every byte read from one side is written to the other, on uvloop (codearena's own loop) with
asyncio's protocols (no streams, no parsing, no copies beyond the transports'). It authenticates
nothing, routes nothing and records nothing: whatever ``bench/proxy_load.py --floor`` measures for
it is the cost of the two extra hops a proxy adds (client to proxy, proxy to upstream, and back)
in a Python process on this machine, below which no Python gateway can go.

    python bench/floor_proxy.py --port P --upstream-port U
"""

from __future__ import annotations

import argparse
import asyncio

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.upstream_port))


if __name__ == "__main__":
    main()
