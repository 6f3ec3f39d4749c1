"""The OpenAI-compatible endpoint under load, against the upstream called directly, in one run.

A loopback upstream (codearena's fake of OpenRouter's wire protocol, in its own process) answers
every chat completion after ``--upstream-latency`` seconds (the ``slow-first-S`` scenario). The
same open-loop load (requests sent on a fixed schedule at ``--rate`` per second for
``--duration`` seconds, each waited for, non-streamed) goes first straight to the upstream, then
through ``codearena serve``'s ``/v1/chat/completions`` (a fresh process with its own SQLite
database and an API token), so the difference is what codearena adds: authentication, routing,
the gateway, recording every call. Reported per target: requests completed per second, failures
by kind, latency median/p90/p99, and for codearena the serving process's peak RSS and how many
calls the database recorded.

    python bench/proxy_load.py [--rate 200] [--duration 15] [--upstream-latency 1.5]

The issue's targets (2 vCPU): at 500 requests/s for 60 s, >= 490 completed per second, no
failure, p99 within 100 ms of the upstream's own, peak RSS <= 200 MB, every call recorded.
Published peers on a machine of this size: Bifrost 424 requests/s completed (p99 1.68 s against a
1.5 s upstream at 500/s offered, 120 MB), LiteLLM 44.8 requests/s (p99 90.7 s, 372 MB). The load
generator runs on the same 2 cores as the server and the upstream, so at high rates it competes
with what it measures; the direct run shows how far the generator itself gets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
    failures: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def q(p: float) -> float | None:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else None

        return {
            "target": self.name,
            "completed": len(ordered),
            "completed_per_s": len(ordered) / self.wall_s if self.wall_s else 0.0,
            "failures": dict(self.failures),
            "median_ms": statistics.median(ordered) * 1000 if ordered else None,
            "p90_ms": q(0.90),
            "p99_ms": q(0.99),
        }


async def load(
    name: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    rate: float,
    seconds: float,
) -> Run:
    """Open loop: request i is sent at ``i / rate`` s whatever the earlier ones are doing."""
    run = Run(name)
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=2000)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def one(at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            sent = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                run.failures[type(exc).__name__] += 1
                return
            if response.status_code != 200:
                run.failures[f"HTTP {response.status_code}"] += 1
                return
            run.latencies.append(time.perf_counter() - sent)

        start = time.perf_counter() + 0.5
        await asyncio.gather(*(one(start + i / rate) for i in range(total)))
        run.wall_s = time.perf_counter() - start
    return run


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second offered")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load")
    parser.add_argument("--upstream-latency", type=float, default=1.5)
    parser.add_argument(
        "--api-concurrency",
        type=int,
        default=1024,
        help="[web] api_concurrency of the server: calls in flight at once (rate x latency)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="proxy-load-"))
    config = workdir / "codearena.toml"
    config.write_text(f"[web]\napi_concurrency = {args.api_concurrency}\n")
    upstream_port, serve_port = free_port(), free_port()
    env = {
        **os.environ,
        "CODEARENA_DATABASE_URL": f"sqlite:///{workdir / 'proxy.db'}",
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
        model = f"fake/slow-first-{args.upstream_latency:g}"
        messages = [{"role": "user", "content": "Write add(a, b) in Python."}]
        direct = asyncio.run(
            load(
                "upstream directly",
                f"http://127.0.0.1:{upstream_port}/api/v1/chat/completions",
                {"Authorization": "Bearer sk-or-bench"},
                {"model": model, "messages": messages},
                args.rate,
                args.duration,
            )
        )
        proxied = asyncio.run(
            load(
                "codearena /v1",
                f"http://127.0.0.1:{serve_port}/v1/chat/completions",
                {"Authorization": f"Bearer {token}"},
                {"model": f"openrouter:{model}", "messages": messages},
                args.rate,
                args.duration,
            )
        )
        rss = peak_rss_mb(server.pid)
        time.sleep(1.0)  # the last calls' rows
        with sqlite3.connect(workdir / "proxy.db") as db:
            recorded = db.execute(
                "SELECT count(*) FROM generations g JOIN api_calls c ON c.task_id = g.task_id "
                "WHERE g.status = 'ok'"
            ).fetchone()[0]
    finally:
        for proc in (server, upstream):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
    a, b = direct.summary(), proxied.summary()
    print(f"offered: {args.rate:g} requests/s for {args.duration:g} s, upstream latency "
          f"{args.upstream_latency:g} s, cores: {os.cpu_count()}")  # fmt: skip
    for row in (a, b):
        print(
            f"{row['target']:>20}: {row['completed']} completed, "
            f"{row['completed_per_s']:.1f}/s, failures {row['failures'] or 'none'}, "
            f"median {row['median_ms']:.0f} ms, p90 {row['p90_ms']:.0f} ms, "
            f"p99 {row['p99_ms']:.0f} ms"
        )
    if a["completed_per_s"] and b["median_ms"] is not None and a["median_ms"] is not None:
        print(
            f"codearena against direct: throughput {b['completed_per_s'] / a['completed_per_s']:.2f}x, "  # type: ignore[operator]
            f"median +{b['median_ms'] - a['median_ms']:.1f} ms, "  # type: ignore[operator]
            f"p99 +{b['p99_ms'] - a['p99_ms']:.1f} ms"  # type: ignore[operator]
        )
    print(f"codearena serve peak RSS: {rss:.0f} MB; calls recorded: {recorded} of {b['completed']}")
    for name, rps, p99, mb in PEERS:
        print(f"{name}: {rps} requests/s, p99 {p99:.0f} ms, {mb:.0f} MB")


if __name__ == "__main__":
    main()
