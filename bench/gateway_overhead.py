"""Gateway overhead: codearena's client against raw httpx, side by side in one run.

A loopback upstream (codearena's fake of OpenRouter's wire protocol) runs in its own process.
The same streamed call is made alternately with raw httpx (read the SSE lines, parse the JSON,
join the text) and through ``Gateway.complete``; the difference of the two latency
distributions is the overhead codearena adds. Then a fan-out to 8 models is timed against the
slowest of them alone.

    python bench/gateway_overhead.py [--calls 400] [--rounds 15]

Targets: median added <= 1 ms, p99 added <= 5 ms; fan-out of 8 within 5 ms of the slowest model.
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
import time
from dataclasses import replace

import httpx

from codearena.catalog import Catalog
from codearena.config import load_settings
from codearena.gateway import ChatRequest, Gateway

MESSAGES = [{"role": "user", "content": "Write a function add(a, b) in Python."}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "codearena.testing.fake_upstream", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/models", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the loopback upstream did not start")


async def raw_call(client: httpx.AsyncClient, url: str, key: str) -> str:
    body = {"model": "bench/ok", "messages": MESSAGES, "stream": True, "temperature": 0.5}
    parts: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with client.stream("POST", url, json=body, headers=headers) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or ():
                content = (choice.get("delta") or {}).get("content")
                if content:
                    parts.append(content)
    return "".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def overhead(calls: int, port: int) -> dict[str, float]:
    settings = load_settings()
    gateway = Gateway(settings, Catalog(settings))
    url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
    raw_ms: list[float] = []
    gw_ms: list[float] = []
    request = ChatRequest("openrouter:bench/ok", MESSAGES)
    async with httpx.AsyncClient() as client:
        for _ in range(30):  # warm both paths and their connections
            await raw_call(client, url, "bench-key")
            await gateway.complete(request)
        for i in range(calls):
            pair = [("raw", raw_call(client, url, "bench-key")), ("gw", gateway.complete(request))]
            if i % 2:
                pair.reverse()
            for name, coro in pair:
                start = time.perf_counter()
                result = await coro
                elapsed = (time.perf_counter() - start) * 1000
                if name == "raw":
                    raw_ms.append(elapsed)
                else:
                    assert not isinstance(result, str) and result.status == "ok", result
                    gw_ms.append(elapsed)
    await gateway.aclose()
    return {
        "raw_median": statistics.median(raw_ms),
        "gw_median": statistics.median(gw_ms),
        "raw_p99": percentile(raw_ms, 0.99),
        "gw_p99": percentile(gw_ms, 0.99),
    }


async def raw_stream(client: httpx.AsyncClient, url: str, model: str) -> None:
    body = {"model": model, "messages": MESSAGES, "stream": True}
    async with client.stream("POST", url, json=body, headers={"Authorization": "Bearer k"}) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[6:])


async def fan_out(rounds: int, port: int) -> dict[str, float]:
    settings = load_settings()
    settings = replace(
        settings,
        providers={
            **settings.providers,
            "openrouter": replace(settings.providers["openrouter"], concurrency=16),
        },
    )
    gateway = Gateway(settings, Catalog(settings))
    delays = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04]
    models = [f"openrouter:bench/slow-{d}" for d in delays]
    slowest = models[-1]
    single_ms: list[float] = []
    fan_ms: list[float] = []
    raw_single_ms: list[float] = []
    raw_fan_ms: list[float] = []
    url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
    upstream_ids = [m.removeprefix("openrouter:") for m in models]
    client = httpx.AsyncClient()
    await gateway.fan_out([ChatRequest(m, MESSAGES) for m in models])  # warm up
    await asyncio.gather(*(raw_stream(client, url, m) for m in upstream_ids))
    for _ in range(rounds):
        start = time.perf_counter()
        await raw_stream(client, url, upstream_ids[-1])
        raw_single_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await asyncio.gather(*(raw_stream(client, url, m) for m in upstream_ids))
        raw_fan_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await gateway.complete(ChatRequest(slowest, MESSAGES))
        single_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        results = await gateway.fan_out([ChatRequest(m, MESSAGES) for m in models])
        fan_ms.append((time.perf_counter() - start) * 1000)
        assert all(r.status == "ok" for r in results)
    await gateway.aclose()
    await client.aclose()
    return {
        "single_median": statistics.median(single_ms),
        "fan_median": statistics.median(fan_ms),
        "raw_single_median": statistics.median(raw_single_ms),
        "raw_fan_median": statistics.median(raw_fan_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    port = free_port()
    os.environ["OPENROUTER_BASE_URL"] = f"http://127.0.0.1:{port}/api/v1"
    os.environ["OPENROUTER_API_KEY"] = "bench-key"
    os.environ.setdefault("CODEARENA_HOME", "/tmp/codearena-bench")
    upstream = start_upstream(port)
    try:
        o = asyncio.run(overhead(args.calls, port))
        f = asyncio.run(fan_out(args.rounds, port))
    finally:
        upstream.terminate()
        upstream.wait()
    added_median = o["gw_median"] - o["raw_median"]
    added_p99 = o["gw_p99"] - o["raw_p99"]
    print(f"streamed call, {args.calls} each, alternating (ms):")
    print(f"  raw httpx      median {o['raw_median']:.3f}  p99 {o['raw_p99']:.3f}")
    print(f"  codearena      median {o['gw_median']:.3f}  p99 {o['gw_p99']:.3f}")
    print(
        f"  added          median {added_median:+.3f}  p99 {added_p99:+.3f}"
        f"   (targets <= 1 ms, <= 5 ms)"
    )
    print(
        f"  ratio          median {o['gw_median'] / o['raw_median']:.3f}x"
        f"  p99 {o['gw_p99'] / o['raw_p99']:.3f}x"
    )
    gap = f["fan_median"] - f["single_median"]
    print(f"fan-out to 8 models, {args.rounds} rounds (ms):")
    print(f"  slowest alone  median {f['single_median']:.3f}")
    print(f"  fan-out of 8   median {f['fan_median']:.3f}")
    print(
        f"  gap            {gap:+.3f}  ratio {f['fan_median'] / f['single_median']:.3f}x"
        f"   (target within 5 ms)"
    )
    raw_gap = f["raw_fan_median"] - f["raw_single_median"]
    print(
        f"  same fan-out with raw httpx: slowest alone {f['raw_single_median']:.3f},"
        f" fan-out {f['raw_fan_median']:.3f}, gap {raw_gap:+.3f}"
    )
    print(f"  codearena's share of the gap (its gap - raw httpx gap): {gap - raw_gap:+.3f}")


if __name__ == "__main__":
    main()
