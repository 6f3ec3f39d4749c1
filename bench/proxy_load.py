"""The OpenAI-compatible endpoint under load, against the upstream called directly, in one run.

A loopback upstream (codearena's fake of OpenRouter's wire protocol, in its own process) answers
every chat completion after ``--upstream-latency`` seconds (the ``wait-S`` scenario: nothing at
all until then, like the mock upstream of the published gateway benchmarks). The same load goes
first straight to the upstream, then through ``codearena serve``'s ``/v1/chat/completions`` (a
fresh process with its own database and an API token; 20 warm-up calls first, not counted), so
the difference is what codearena adds: authentication, routing, the gateway, recording every
call. Two kinds of load, each request waited for, non-streamed unless ``--stream`` (then both
targets stream, read to ``data: [DONE]``: the gateway always streams from the upstream, so a
non-streamed direct call is an upstream doing less work than the one codearena calls):

- open loop (``--rate R``): request i is sent at i / R seconds whatever the earlier ones are
  doing. Completed per second counts the answers within a window as long as the load, starting
  one upstream latency after the first request: a server that keeps up answers all of them in
  it (the offered rate), one that falls behind answers fewer;
- closed loop (``--streams N``): N clients, each sending its next request as soon as its last
  is answered (their first requests spread over one upstream latency); the added latency at 1
  and at 200 streams, and with ``--duration 600`` the soak.

Reported per target: completed per second, failures by kind, latency median/p90/p99; for
codearena the serving process's peak RSS, its CPU time per call (user and system), how many
calls the database recorded, and its RSS, open descriptors and database connections sampled
during the load (first and last sample). ``--database postgresql`` records into a fresh
PostgreSQL database (made and dropped on ``--postgres-url``) instead of SQLite.

Two floors can be measured in the same run, between the direct calls and codearena's, with the
same load: ``--floor``, a Python relay that only copies bytes between the client's and the
upstream's connections (bench/floor_proxy.py, on uvloop like codearena), and ``--nginx``, nginx
as the proxy (one worker, kept-alive upstream connections, nothing buffered). What they add to the
direct calls is what the two extra hops of any proxy cost here; what codearena adds above them is
its own work. ``--lean`` measures a third, bench/lean_gateway.py: the least a recording gateway
must do (token, upstream streamed and parsed, a pending and a finished row in SQLite), on raw
protocols, as a bound on what a Python design could reach here.

    python bench/proxy_load.py [--rate 200 | --streams 200] [--duration 15] [--stream]
        [--upstream-latency 1.5] [--database sqlite|postgresql] [--floor] [--nginx] [--lean]

The load generator is a lean HTTP/1.1 client on asyncio streams (httpx spent about a
millisecond of CPU per request, so at hundreds per second the generator measured itself); it
still runs on the same 2 cores as the server and the upstream: the direct run shows how far the
generator and the upstream get on their own.

The issue's targets (2 vCPU): at 500 requests/s for 60 s, >= 490 completed per second, no
failure, p99 within 100 ms of the upstream's own, peak RSS <= 200 MB, every call recorded; added
latency at 1 and 200 streams median <= 1 ms and p99 <= 5 ms; a 10-minute soak at 200 streams
with RSS growth under 10% and no growth in open files or database connections. Published peers
on a machine of this size: Bifrost 424 requests/s completed (p99 1.68 s against a 1.5 s upstream
at 500/s offered, 120 MB), LiteLLM 44.8 requests/s (p99 90.7 s, 372 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import floor_proxy  # bench/floor_proxy.py, beside this script
import httpx
import lean_gateway  # bench/lean_gateway.py, beside this script

BIN = Path(sys.executable).parent
PEERS = (
    ("Bifrost (Go), published", 424.0, 1680.0, 120.0),
    ("LiteLLM (Python), published", 44.8, 90700.0, 372.0),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{what} did not start")


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # s after the first request was due
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    upstream_latency: float = 0.0

    async def send(self, connections: Connections, start: float) -> None:
        """One request, its latency and when it finished (s after ``start``), or its failure."""
        sent = time.perf_counter()
        try:
            status = await connections.post()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.failures[type(exc).__name__] += 1
            return
        if status != 200:
            self.failures[f"HTTP {status}"] += 1
            return
        done = time.perf_counter()
        self.latencies.append(done - sent)
        self.finished_at.append(done - start)

    def summary(self) -> dict[str, object]:
        """``completed_per_s``: the requests answered within a window as long as the load,
        starting one upstream latency after the first was sent; a server keeping up answers
        all of them in it (the offered rate), one falling behind answers fewer."""
        ordered = sorted(self.latencies)
        window = (self.upstream_latency, self.upstream_latency + self.seconds)
        in_window = sum(window[0] <= t < window[1] + 0.05 for t in self.finished_at)

        def q(p: float) -> float | None:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else None

        return {
            "target": self.name,
            "completed": len(ordered),
            "completed_per_s": in_window / self.seconds if self.seconds else 0.0,
            "failures": dict(self.failures),
            "median_ms": statistics.median(ordered) * 1000 if ordered else None,
            "p90_ms": q(0.90),
            "p99_ms": q(0.99),
        }


class Connections:
    """A lean HTTP/1.1 keep-alive client on asyncio streams: the load generator shares the 2
    cores with what it measures, and httpx spends about a millisecond of CPU per request, which
    at hundreds per second is the generator measuring itself. A request is written as prepared
    bytes; a response is read by its status line and ``Content-Length`` (non-streamed answers)
    or its chunks (streamed ones, which must end with ``data: [DONE]``). Connections are reused, a new one opened when all are
    busy."""

    def __init__(self, url: str, headers: dict[str, str], body: dict[str, object]) -> None:
        rest = url.removeprefix("http://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or 80)
        payload = json.dumps(body).encode()
        head = [
            f"POST /{path} HTTP/1.1",
            f"Host: {hostport}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def post(self) -> int:
        """One request; its HTTP status. A failure of the connection raises ``OSError`` or
        ``asyncio.IncompleteReadError``."""
        while self.idle:
            reader, writer = self.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                break
            writer.close()  # closed by the server while idle (its keep-alive timeout)
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            self.opened += 1
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            length, close = None, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    length = -1
            if length is None:
                raise OSError("a response without Content-Length or chunked encoding")
            if length >= 0:
                await reader.readexactly(length)
            elif not (await _read_chunked(reader)).rstrip().endswith(b"data: [DONE]"):
                raise OSError("a stream that did not end with data: [DONE]")
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (a streamed answer: SSE frames) to its zero-length last chunk."""
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers: the blank line that ends the body
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


async def load(
    name: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    rate: float,
    seconds: float,
    upstream_latency: float,
) -> Run:
    """Open loop: request i is sent at ``i / rate`` s whatever the earlier ones are doing."""
    run = Run(name, seconds=seconds, upstream_latency=upstream_latency)
    total = int(rate * seconds)
    connections = Connections(url, headers, body)

    async def one(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        await run.send(connections, start)

    start = time.perf_counter() + 0.5
    await asyncio.gather(*(one(start + i / rate) for i in range(total)))
    connections.close()
    return run


async def streams(
    name: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    count: int,
    seconds: float,
    spread: float,
) -> Run:
    """Closed loop: ``count`` clients, each sending its next request when its last is answered,
    until ``seconds`` have passed; throughput is the answers per second of the run. The clients'
    first requests are spread over ``spread`` seconds (one upstream latency), so that they do not
    all arrive in the same instant every round."""
    run = Run(name, seconds=seconds)
    connections = Connections(url, headers, body)
    start = time.perf_counter()
    end = start + seconds

    async def client(index: int) -> None:
        await asyncio.sleep(spread * index / count)
        while time.perf_counter() < end:
            await run.send(connections, start)

    await asyncio.gather(*(client(i) for i in range(count)))
    run.seconds = time.perf_counter() - start
    connections.close()
    return run


WARM_UP = 20


async def warm_up(url: str, headers: dict[str, str], body: dict[str, object]) -> None:
    """A few calls at once before the measured load: imports and caches filled on first use."""
    connections = Connections(url, headers, body)
    statuses = await asyncio.gather(*(connections.post() for _ in range(WARM_UP)))
    connections.close()
    if set(statuses) != {200}:
        raise SystemExit(f"the warm-up calls were answered with {sorted(set(statuses))}")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children (``codearena serve`` and anything it started)."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


@dataclass
class Database:
    """Where the server records its calls: a fresh SQLite file, or a fresh PostgreSQL database
    made for the run and dropped after it."""

    url: str
    admin: str | None = None  # PostgreSQL: the server database to drop ``name`` from
    name: str = ""

    @classmethod
    def make(cls, kind: str, workdir: Path, postgres_url: str) -> Database:
        if kind == "sqlite":
            return cls(f"sqlite:///{workdir / 'proxy.db'}")
        import psycopg

        name = f"proxy_bench_{os.getpid()}"
        admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        base = postgres_url.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://")
        return cls(f"{base}/{name}", admin, name)

    def _query(self, sql: str) -> int:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(text(sql)).scalar_one())
        finally:
            engine.dispose()

    def recorded(self) -> int:
        return self._query(
            "SELECT count(*) FROM generations g JOIN api_calls c ON c.task_id = g.task_id "
            "WHERE g.status = 'ok'"
        )

    def connections(self, pid: int) -> int:
        """The server's connections to the database: PostgreSQL's backends for this database
        (less the one asking), or the server's open descriptors of the SQLite file."""
        if self.admin is None:
            path = self.url.removeprefix("sqlite:///")
            return sum(1 for fd in open_files(pid) if fd == path)
        return (
            self._query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.name}'") - 1
        )

    def drop(self) -> None:
        if self.admin is None:
            return
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def open_files(pid: int) -> list[str]:
    names = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            names.append(os.readlink(fd))
        except OSError:
            continue
    return names


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    open_files: int
    db_connections: int


async def watch(pid: int, database: Database, every_s: float, out: list[Sample]) -> None:
    """The server's RSS, open descriptors and database connections every ``every_s``."""
    began = time.perf_counter()
    while True:
        await asyncio.sleep(every_s)
        connections = await asyncio.to_thread(database.connections, pid)
        out.append(
            Sample(time.perf_counter() - began, rss_mb(pid), len(open_files(pid)), connections)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second offered")
    parser.add_argument(
        "--streams",
        type=int,
        default=None,
        help="instead of --rate: this many clients, each sending its next request as soon as "
        "its last is answered (the added latency at 1 and at 200 streams; a soak with "
        "--duration 600)",
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load")
    parser.add_argument(
        "--stream",
        action="store_true",
        help="streamed requests (stream: true, read to data: [DONE]) to both targets, so that "
        "the upstream does the same work for both; the added latency at 1 and 200 streams",
    )
    parser.add_argument("--upstream-latency", type=float, default=1.5)
    parser.add_argument(
        "--api-concurrency",
        type=int,
        default=1024,
        help="[web] api_concurrency of the server: calls in flight at once (rate x latency)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/floor_proxy.py, a Python relay that only copies bytes between "
        "the client's and the upstream's connections: the two extra hops' cost in Python",
    )
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="also measure nginx (Debian's nginx-light, one worker, keep-alive to the upstream) "
        "as the proxy: the two extra hops' cost in a compiled proxy",
    )
    parser.add_argument(
        "--lean",
        action="store_true",
        help="also measure bench/lean_gateway.py, the least a recording gateway must do (the "
        "token checked, the upstream streamed and parsed, a pending and a finished row in "
        "SQLite) on raw protocols: what a Python design that does only that costs here",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "CODEARENA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server where a database for the run is made and dropped",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="proxy-load-"))
    config = workdir / "codearena.toml"
    config.write_text(f"[web]\napi_concurrency = {args.api_concurrency}\n")
    upstream_port, serve_port = free_port(), free_port()
    database = Database.make(args.database, workdir, args.postgres_url)
    env = {
        **os.environ,
        "CODEARENA_DATABASE_URL": database.url,
        "CODEARENA_HOME": str(workdir / "home"),
        "CODEARENA_CONFIG": str(config),
        "OPENROUTER_BASE_URL": f"http://127.0.0.1:{upstream_port}/api/v1",
        "OPENROUTER_API_KEY": "sk-or-bench",
    }
    upstream = subprocess.Popen(
        [sys.executable, "-m", "codearena.testing.fake_upstream", "--port", str(upstream_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server: subprocess.Popen[bytes] | None = None
    samples: list[Sample] = []
    relays = [
        (name, start)
        for name, start, wanted in (
            ("python relay (floor)", floor_proxy.start_relay, args.floor),
            ("nginx (floor)", floor_proxy.start_nginx, args.nginx),
            ("lean gateway (floor)", lean_gateway.start, args.lean),
        )
        if wanted
    ]
    helpers: list[subprocess.Popen[bytes]] = []
    floors: list[Run] = []
    try:
        wait_for(f"http://127.0.0.1:{upstream_port}/api/v1/models", upstream, "the upstream")
        codearena = str(BIN / "codearena")
        subprocess.run(
            [codearena, "users", "create", "--email", "bench@example.org", "--role", "researcher"],
            input=b"a long bench password\n",
            env=env,
            check=True,
            capture_output=True,
        )
        made = subprocess.run(
            [codearena, "tokens", "create", "--user", "bench@example.org", "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        token = json.loads(made.stdout)["token"]
        server = subprocess.Popen(
            [codearena, "serve", "--port", str(serve_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"http://127.0.0.1:{serve_port}/", server, "codearena serve")
        model = f"fake/wait-{args.upstream_latency:g}"
        messages = [{"role": "user", "content": "Write add(a, b) in Python."}]
        streamed = {"stream": True} if args.stream else {}

        def run(name: str, url: str, headers: dict[str, str], body: dict[str, object]) -> Run:
            if args.streams is not None:
                return asyncio.run(
                    streams(
                        name, url, headers, body, args.streams, args.duration, args.upstream_latency
                    )
                )
            return asyncio.run(
                load(name, url, headers, body, args.rate, args.duration, args.upstream_latency)
            )

        direct_headers = {"Authorization": "Bearer sk-or-bench"}
        direct_body: dict[str, object] = {"model": model, "messages": messages, **streamed}
        direct = run(
            "upstream directly",
            f"http://127.0.0.1:{upstream_port}/api/v1/chat/completions",
            direct_headers,
            direct_body,
        )
        for name, start_relay in relays:
            port = free_port()
            relay = start_relay(port, upstream_port, workdir)
            helpers.append(relay)
            url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
            wait_for(f"http://127.0.0.1:{port}/api/v1/models", relay, name)
            asyncio.run(warm_up(url, direct_headers, direct_body))
            floors.append(run(name, url, direct_headers, direct_body))
        proxy_url = f"http://127.0.0.1:{serve_port}/v1/chat/completions"
        proxy_headers = {"Authorization": f"Bearer {token}"}
        proxy_body: dict[str, object] = {
            "model": f"openrouter:{model}",
            "messages": messages,
            **streamed,
        }
        asyncio.run(warm_up(proxy_url, proxy_headers, proxy_body))  # first-use costs, not counted
        cpu_before = cpu_seconds(server.pid)
        every = max(1.0, args.duration / 20)

        async def watched() -> Run:
            assert server is not None
            watcher = asyncio.create_task(watch(server.pid, database, every, samples))
            try:
                return await asyncio.to_thread(run, "codearena /v1", proxy_url, proxy_headers,
                                               proxy_body)  # fmt: skip
            finally:
                watcher.cancel()

        proxied = asyncio.run(watched())
        cpu_after = cpu_seconds(server.pid)
        user_s, system_s = (
            after - before for after, before in zip(cpu_after, cpu_before, strict=True)
        )
        rss = peak_rss_mb(server.pid)
        time.sleep(1.0)  # the last calls' rows
        recorded = database.recorded() - WARM_UP
    finally:
        for proc in (server, *helpers, upstream):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
        database.drop()
    a, b = direct.summary(), proxied.summary()
    relayed = [floor.summary() for floor in floors]
    load_text = (
        f"{args.streams} streams" if args.streams is not None else f"{args.rate:g} requests/s"
    )
    load_text += ", streamed" if args.stream else ""
    print(f"offered: {load_text} for {args.duration:g} s, upstream latency "
          f"{args.upstream_latency:g} s, database {args.database}, cores: {os.cpu_count()}")  # fmt: skip
    for row in (a, *relayed, b):
        print(
            f"{row['target']:>20}: {row['completed']} completed, "
            f"{row['completed_per_s']:.1f}/s, failures {row['failures'] or 'none'}, "
            f"median {row['median_ms']:.1f} ms, p90 {row['p90_ms']:.1f} ms, "
            f"p99 {row['p99_ms']:.1f} ms"
        )
    if a["completed_per_s"] and b["median_ms"] is not None and a["median_ms"] is not None:
        print(
            f"codearena against direct: throughput {b['completed_per_s'] / a['completed_per_s']:.2f}x, "  # type: ignore[operator]
            f"median {b['median_ms'] - a['median_ms']:+.1f} ms, "  # type: ignore[operator]
            f"p99 {b['p99_ms'] - a['p99_ms']:+.1f} ms"  # type: ignore[operator]
        )
    for row in relayed:
        if row["median_ms"] is not None and a["median_ms"] is not None:
            print(
                f"{row['target']} against direct: "
                f"median {row['median_ms'] - a['median_ms']:+.1f} ms, "  # type: ignore[operator]
                f"p99 {row['p99_ms'] - a['p99_ms']:+.1f} ms; codearena above it: "  # type: ignore[operator]
                f"median {b['median_ms'] - row['median_ms']:+.1f} ms"  # type: ignore[operator]
            )
    print(f"codearena serve peak RSS: {rss:.0f} MB; calls recorded: {recorded} of {b['completed']}")
    calls = int(b["completed"]) + sum(proxied.failures.values())  # type: ignore[call-overload]
    if calls:
        print(f"codearena serve CPU: {user_s + system_s:.1f} s for {calls} calls, "
              f"{(user_s + system_s) / calls * 1000:.2f} ms per call "
              f"({user_s / calls * 1000:.2f} user, {system_s / calls * 1000:.2f} system)")  # fmt: skip
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        print(
            f"from {first.at_s:.0f} s to {last.at_s:.0f} s of load: RSS {first.rss_mb:.0f} -> "
            f"{last.rss_mb:.0f} MB ({(last.rss_mb / first.rss_mb - 1) * 100:+.1f}%), open files "
            f"{first.open_files} -> {last.open_files}, database connections "
            f"{first.db_connections} -> {last.db_connections} (max "
            f"{max(s.db_connections for s in samples)})"
        )
    for name, rps, p99, mb in PEERS:
        print(f"{name}: {rps} requests/s, p99 {p99:.0f} ms, {mb:.0f} MB")


if __name__ == "__main__":
    main()
