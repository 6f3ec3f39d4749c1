"""Tests for the loopback OpenRouter/OpenAI/Ollama double."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from codearena.testing import FakeUpstream
from codearena.testing.fake_upstream import DEFAULT_REPLY, serve_forever

SEVEN = [
    "openai/gpt-3.5-turbo",
    "openai/gpt-4",
    "openai/gpt-4-turbo",
    "openai/chatgpt-4o-latest",
    "google/gemini-flash-1.5-8b",
    "meta-llama/llama-3.2-3b-instruct",
    "mistralai/mixtral-8x7b-instruct",
]


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture
def client(fake: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=5) as c:
        yield c


def chat(model: str, stream: bool = False, text: str = "write add", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def sse_events(raw: bytes) -> list[str]:
    """Split an SSE body into its events (without the trailing blank line)."""
    assert raw.endswith(b"\n\n")
    return raw.decode()[:-2].split("\n\n")


def data_chunks(events: list[str]) -> list[dict[str, Any]]:
    return [json.loads(e[6:]) for e in events if e.startswith("data: ") and e != "data: [DONE]"]


def content(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])


def test_urls_and_lifecycle() -> None:
    upstream = FakeUpstream().start()
    try:
        assert upstream.port > 0
        assert upstream.base_url == f"http://127.0.0.1:{upstream.port}/api/v1"
        assert upstream.root_url == f"http://127.0.0.1:{upstream.port}"
    finally:
        upstream.stop()
    upstream.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{upstream.port}/api/tags", timeout=2)


def test_keep_alive_reuses_one_connection(fake: FakeUpstream, client: httpx.Client) -> None:
    r1 = client.post("/chat/completions", json=chat("openai/gpt-4"))
    r2 = client.get("/models")
    r3 = client.post("/chat/completions", json=chat("openai/gpt-4", stream=True))
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 200)
    assert r1.headers["connection"] == "keep-alive"
    assert len({r.connection for r in fake.requests}) == 1
    assert fake.count("openai/gpt-4") == 2


def test_connection_close_is_honoured(fake: FakeUpstream, client: httpx.Client) -> None:
    r1 = client.get("/models", headers={"Connection": "close"})
    r2 = client.get("/models")
    assert r1.headers["connection"] == "close" and r2.status_code == 200
    assert fake.requests[0].connection != fake.requests[1].connection


def test_raw_socket_pipelined_keep_alive_and_chunked_request_body(fake: FakeUpstream) -> None:
    body = json.dumps(chat("m/x", text="ECHO:hi")).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    req = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked
        + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(req)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 404 Not Found\r\n" in data
    assert b'"content":"hi"' in data
    assert fake.requests[0].body is not None and fake.requests[0].body["model"] == "m/x"
    assert fake.requests[0].headers["transfer-encoding"] == "chunked"


def test_http10_and_expect_continue(fake: FakeUpstream) -> None:
    body = json.dumps(chat("m/x", text="ECHO:ok")).encode()
    req = (
        b"POST /api/v1/chat/completions HTTP/1.0\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(req)
        data = b""
        while chunk := sock.recv(65536):  # HTTP/1.0: the server closes after the response
            data += chunk
    assert data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in data and data.endswith(b"}")


def test_non_streaming_body(client: httpx.Client) -> None:
    r = client.post("/chat/completions", json=chat("openai/gpt-3.5-turbo"))
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    body = r.json()
    assert body["id"].startswith("gen-") and body["object"] == "chat.completion"
    assert body["model"] == "openai/gpt-3.5-turbo" and isinstance(body["created"], int)
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": DEFAULT_REPLY, "refusal": None}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] == 2 and isinstance(usage["cost"], float) and usage["cost"] > 0


def test_sse_byte_format(client: httpx.Client) -> None:
    r = client.post("/chat/completions", json=chat("openai/gpt-4o", stream=True))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["transfer-encoding"] == "chunked"
    events = sse_events(r.content)
    assert events[0] == ": OPENROUTER PROCESSING"
    assert events.count(": OPENROUTER PROCESSING") >= 2
    first_data = next(i for i, e in enumerate(events) if e.startswith("data: "))
    assert ": OPENROUTER PROCESSING" in events[first_data:]  # one mid-stream too
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith((": ", "data: ")) and "\n" not in e for e in events)
    chunks = data_chunks(events)
    deltas = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] is None]
    assert 5 <= len(deltas) <= 10
    assert content(chunks) == DEFAULT_REPLY
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("gen-")
    for c in chunks:
        assert c["object"] == "chat.completion.chunk" and c["model"] == "openai/gpt-4o"
        assert c["provider"] == "Fake" and isinstance(c["created"], int)
    assert deltas[0]["choices"][0]["delta"]["role"] == "assistant"
    assert deltas[0]["choices"][0]["native_finish_reason"] is None
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert set(usage_chunk["usage"]) == {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost",
    }


def test_echo_and_usage_scenarios(client: httpx.Client) -> None:
    r = client.post(
        "/chat/completions", json=chat("a/b", stream=True, text="say ECHO: hello world")
    )
    assert content(data_chunks(sse_events(r.content))) == "hello world"
    r = client.post("/chat/completions", json=chat("fake/no-usage", stream=True))
    chunks = data_chunks(sse_events(r.content))
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"]
    assert "usage" not in client.post("/chat/completions", json=chat("fake/no-usage")).json()
    r = client.post("/chat/completions", json=chat("fake/no-cost", stream=True))
    usage = data_chunks(sse_events(r.content))[-1]["usage"]
    assert "cost" not in usage and usage["total_tokens"] > 0
    r = client.post("/chat/completions", json=chat("fake/length", stream=True))
    assert data_chunks(sse_events(r.content))[-2]["choices"][0]["finish_reason"] == "length"
    body = client.post("/chat/completions", json=chat("fake/length")).json()
    assert body["choices"][0]["finish_reason"] == "length"


def test_cost_follows_listing_prices(client: httpx.Client) -> None:
    cheap = client.post("/chat/completions", json=chat("meta-llama/llama-3.2-3b-instruct")).json()
    dear = client.post("/chat/completions", json=chat("openai/gpt-4")).json()
    assert 0 < cheap["usage"]["cost"] < dear["usage"]["cost"]


ERRORS = [
    ("error-400", 400),
    ("error-401", 401),
    ("error-402", 402),
    ("error-403", 403),
    ("error-408", 408),
    ("error-429", 429),
    ("error-502", 502),
    ("error-503", 503),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("keyword", "status"), ERRORS)
def test_error_statuses(client: httpx.Client, keyword: str, status: int, stream: bool) -> None:
    r = client.post("/chat/completions", json=chat(f"fake/{keyword}", stream=stream))
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert error["code"] == status and isinstance(error["message"], str) and error["message"]
    if status == 401:
        assert error["message"] == "No auth credentials found"
    if status == 402:
        assert error["message"].startswith("Insufficient credits")
    if status == 403:
        assert error["metadata"]["reasons"]
    assert r.headers.get("retry-after") == ("1" if status == 429 else None)


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("503", 503)])
def test_flaky_status(fake: FakeUpstream, client: httpx.Client, kind: str, status: int) -> None:
    model = f"fake/flaky-{kind}-2"
    codes = [client.post("/chat/completions", json=chat(model)).status_code for _ in range(4)]
    assert codes == [status, status, 200, 200]
    assert fake.count(model) == 4
    # counting is per exact model string
    assert client.post("/chat/completions", json=chat(model + "-x")).status_code == status


def test_flaky_429_has_retry_after(client: httpx.Client) -> None:
    r = client.post("/chat/completions", json=chat("fake/flaky-429-1"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"


def test_flaky_connect(fake: FakeUpstream, client: httpx.Client) -> None:
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/chat/completions", json=chat("fake/flaky-connect-2"))
    r = client.post("/chat/completions", json=chat("fake/flaky-connect-2", stream=True))
    assert r.status_code == 200 and sse_events(r.content)[-1] == "data: [DONE]"
    assert fake.count("fake/flaky-connect-2") == 3


@pytest.mark.parametrize("stream", [False, True])
def test_error_in_200(client: httpx.Client, stream: bool) -> None:
    r = client.post("/chat/completions", json=chat("fake/error-in-200", stream=stream))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"error": {"code": 502, "message": "Upstream provider returned an error"}}


def test_stream_error_chunk(client: httpx.Client) -> None:
    r = client.post("/chat/completions", json=chat("fake/stream-error", stream=True))
    events = sse_events(r.content)
    assert events[-1] == "data: [DONE]"
    chunks = data_chunks(events)
    assert 2 <= len(chunks) - 1 <= 3
    last = chunks[-1]
    assert last["object"] == "chat.completion.chunk" and last["id"] == chunks[0]["id"]
    assert last["error"] == {
        "code": "server_error",
        "message": "Provider disconnected unexpectedly",
    }
    assert last["choices"] == [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]


def test_finish_error(client: httpx.Client) -> None:
    r = client.post("/chat/completions", json=chat("fake/finish-error", stream=True))
    events = sse_events(r.content)
    chunks = data_chunks(events)
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finals] == ["error"]
    assert all("error" not in c for c in chunks) and events[-1] == "data: [DONE]"


def test_cut_stream_raises_while_reading(client: httpx.Client) -> None:
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/chat/completions", json=chat("fake/cut", stream=True)) as r,
    ):
        assert r.status_code == 200
        lines.extend(r.iter_lines())
    assert any(line.startswith("data: {") for line in lines)
    assert "data: [DONE]" not in lines
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=chat("fake/cut"))


def test_slow_first_sends_keepalive_comments(client: httpx.Client) -> None:
    start = time.monotonic()
    with client.stream(
        "POST", "/chat/completions", json=chat("fake/slow-first-0.3", stream=True)
    ) as r:
        it = r.iter_lines()
        assert next(it) == ": OPENROUTER PROCESSING"  # at once, before any data
        rest = list(it)
    assert time.monotonic() - start >= 0.3
    first_data = next(i for i, line in enumerate(rest) if line.startswith("data: "))
    assert rest[:first_data].count(": OPENROUTER PROCESSING") >= 2


def test_slow_and_chunk_delay() -> None:
    with FakeUpstream(chunk_delay=0.02) as up, httpx.Client(base_url=up.base_url) as c:
        start = time.monotonic()
        c.post("/chat/completions", json=chat("a/b", stream=True))
        delayed = time.monotonic() - start
        assert delayed >= 0.1  # a lower bound only: 8 deltas 0.02 s apart
        start = time.monotonic()
        c.post("/chat/completions", json=chat("fake/slow-0", stream=True))
        assert time.monotonic() - start < delayed, "slow-0 overrides the server's chunk delay"


def test_hang_until_stop() -> None:
    up = FakeUpstream().start()
    with httpx.Client(base_url=up.base_url) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post("/chat/completions", json=chat("fake/hang"), timeout=0.2)
        assert up.count("fake/hang") == 1
        up.stop()


def test_fallbacks_report_served_model(fake: FakeUpstream, client: httpx.Client) -> None:
    models = ["fake/error-503", "fake/hang", "fake/cut", "fake/flaky-429-5", "openai/gpt-4"]
    r = client.post("/chat/completions", json=chat("fake/error-402", stream=True, models=models))
    chunks = data_chunks(sse_events(r.content))
    assert {c["model"] for c in chunks} == {"openai/gpt-4"}
    body = client.post("/chat/completions", json=chat(models[0], models=models)).json()
    assert body["model"] == "openai/gpt-4"
    assert fake.count("fake/error-402") == 1
    r = client.post("/chat/completions", json=chat("x/error-401", models=["y/error-429"]))
    assert r.status_code == 429  # all failed: the last failure is returned


def test_models_listing(client: httpx.Client) -> None:
    data = client.get("/models").json()["data"]
    by_id = {m["id"]: m for m in data}
    assert set(SEVEN) <= set(by_id)
    prices = set()
    for mid in SEVEN:
        m = by_id[mid]
        assert isinstance(m["name"], str) and isinstance(m["context_length"], int)
        p = m["pricing"]
        assert isinstance(p["prompt"], str) and isinstance(p["completion"], str)
        assert float(p["prompt"]) > 0 and "e" not in p["prompt"] + p["completion"]
        prices.add((p["prompt"], p["completion"]))
    assert len(prices) == len(SEVEN)
    assert by_id["openai/gpt-3.5-turbo"]["pricing"]["prompt"] == "0.0000005"


def test_custom_listing_and_ollama_tags() -> None:
    listing = [
        {
            "id": "x/y",
            "name": "X",
            "context_length": 1,
            "pricing": {"prompt": "1", "completion": "2"},
        }
    ]
    with FakeUpstream(models_listing=listing, ollama_models=["qwen2.5-coder:7b"]) as up:
        with httpx.Client(base_url=up.root_url) as c:
            assert c.get("/api/v1/models").json() == {"data": listing}
            tags = c.get("/api/tags").json()["models"]
            r = c.post("/v1/chat/completions", json=chat("qwen2.5-coder:7b"))
        assert r.json()["model"] == "qwen2.5-coder:7b"
        assert [t["name"] for t in tags] == ["qwen2.5-coder:7b"]
        assert tags[0]["model"] == "qwen2.5-coder:7b" and isinstance(tags[0]["size"], int)
        assert isinstance(tags[0]["details"], dict)
        assert up.requests[-1].path == "/v1/chat/completions"


def test_default_ollama_tags(fake: FakeUpstream) -> None:
    names = [m["name"] for m in httpx.get(f"{fake.root_url}/api/tags").json()["models"]]
    assert names == ["qwen2.5-coder:7b", "llama3.2:3b"]


def test_not_found(fake: FakeUpstream, client: httpx.Client) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404 and r.json()["error"]["message"]
    assert fake.requests[-1].method == "GET" and fake.requests[-1].body is None


def test_recorded_request_headers(fake: FakeUpstream, client: httpx.Client) -> None:
    client.post(
        "/chat/completions", json=chat("a/b"), headers={"Authorization": "Bearer k", "X-Title": "t"}
    )
    rec = fake.requests[-1]
    assert rec.method == "POST" and rec.path == "/api/v1/chat/completions"
    assert rec.headers["authorization"] == "Bearer k" and rec.headers["x-title"] == "t"
    assert rec.body == chat("a/b")


async def test_async_client_stream(fake: FakeUpstream) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=5) as c:
        lines: list[str] = []
        async with c.stream(
            "POST", "/chat/completions", json=chat("fake/slow-0.01", stream=True)
        ) as r:
            lines = [line async for line in r.aiter_lines() if line]
        assert lines[0] == ": OPENROUTER PROCESSING" and lines[-1] == "data: [DONE]"
        r2 = await c.post("/chat/completions", json=chat("fake/error-429", stream=True))
        assert r2.status_code == 429 and r2.headers["retry-after"] == "1"
        with pytest.raises(httpx.RemoteProtocolError):
            async with c.stream(
                "POST", "/chat/completions", json=chat("fake/cut", stream=True)
            ) as r3:
                async for _ in r3.aiter_lines():
                    pass
    assert len({r.connection for r in fake.requests[:2]}) == 1


def test_port_in_use_raises_from_start(fake: FakeUpstream) -> None:
    with pytest.raises(OSError):
        FakeUpstream(port=fake.port).start()


async def test_serve_forever_in_current_loop(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve_forever(port=0))
    out = ""
    for _ in range(200):
        out += capsys.readouterr().out
        if "listening on " in out:
            break
        await asyncio.sleep(0.01)
    base_url = out.split("listening on ", 1)[1].strip()
    async with httpx.AsyncClient(base_url=base_url) as c:
        r = await c.post("/chat/completions", json=chat("a/b", text="ECHO:standalone"))
    assert r.json()["choices"][0]["message"]["content"] == "standalone"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("stream", [False, True])
def test_wait_sends_nothing_until_its_delay_then_answers(fake: FakeUpstream, stream: bool) -> None:
    """``wait-S``: no byte at all (no headers, no keep-alive comment) before S seconds (the
    upstream the endpoint's load bench uses), then the usual answer."""
    body = json.dumps(chat("fake/wait-0.6", stream=stream)).encode()
    head = b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        sock.settimeout(0.1)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # the server sleeps 0.6 s before writing any byte
        sock.settimeout(5)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.count(b"OPENROUTER PROCESSING") <= 2  # a stream's usual two, none while waiting
    assert (b"data: [DONE]" in data) == stream
    assert (b'"chat.completion"' in data) == (not stream)
