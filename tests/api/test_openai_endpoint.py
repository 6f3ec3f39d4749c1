"""POST /v1/chat/completions and GET /v1/models with the official ``openai`` SDK (sync and
async, streamed and not) and raw SSE, against uvicorn on a loopback port and the fake upstream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from codearena.openai_api.writer import Batch
from codearena.store import Generation, Task, repo
from codearena.store.api_models import ApiCall
from codearena.testing.fake_upstream import DEFAULT_REPLY, FakeUpstream
from tests.api.conftest import Server
from tests.conftest import unique


def stored(server: Server, generation_id: str) -> Generation:
    server.settle()
    with server.context.store.session() as session:
        row = session.get(Generation, generation_id)
        assert row is not None
        session.expunge(row)
        return row


def api_rows(server: Server) -> list[tuple[Task, ApiCall]]:
    server.settle()
    with server.context.store.session() as session:
        rows = session.execute(select(Task, ApiCall).join(ApiCall, ApiCall.task_id == Task.id))
        return [(task, call) for task, call in rows]


def statuses(server: Server) -> list[list[str]]:
    """The generations' statuses of each task made through the endpoint."""
    server.settle()
    with server.context.store.session() as session:
        tasks = session.scalars(select(Task).join(ApiCall, ApiCall.task_id == Task.id))
        return [[g.status for g in task.generations] for task in tasks]


def test_a_completion_is_answered_and_stored_as_an_api_task(server: Server) -> None:
    token, token_id = server.token()
    model = unique("ok")
    raw = server.sdk(token).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "ECHO:hello there"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    generation = stored(server, raw.headers["x-codearena-generation-id"])
    assert (generation.status, generation.text, generation.model) == ("ok", "hello there", model)
    assert generation.cost_usd is not None and generation.prompt_tokens is not None
    [(task, call)] = api_rows(server)
    assert (task.source, task.prompt, call.token_id) == ("api", "ECHO:hello there", token_id)
    assert task.messages == [{"role": "user", "content": "ECHO:hello there"}]
    assert [t.id for t in repo.list_tasks(server.context.store)] == [task.id]  # `history`


def test_a_streamed_completion_with_usage(server: Server) -> None:
    token, _ = server.token()
    stream = server.sdk(token).chat.completions.create(
        model=unique("ok"),
        messages=[{"role": "user", "content": "write add"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == DEFAULT_REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_the_async_client_streamed_and_not(server: Server) -> None:
    token, _ = server.token()
    async with openai.AsyncOpenAI(base_url=server.v1, api_key=token, max_retries=0) as http:
        model = unique("ok")
        messages: Any = [{"role": "user", "content": "ECHO:async works"}]
        whole = await http.chat.completions.create(model=model, messages=messages)
        assert whole.choices[0].message.content == "async works"
        stream = await http.chat.completions.create(model=model, messages=messages, stream=True)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        assert "".join(parts) == "async works"


def test_raw_sse_framing(server: Server) -> None:
    token, _ = server.token()
    body = {
        "model": unique("ok"),
        "messages": [{"role": "user", "content": "ECHO:one two three four"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{server.v1}/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.content
    assert raw.endswith(b"data: [DONE]\n\n")
    events = raw.split(b"\n\n")[:-1]
    assert all(event.startswith(b"data: ") for event in events)
    chunks = [json.loads(event[6:]) for event in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["usage"] is None for c in chunks[:-1])
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == (
        usage_chunk["usage"]["prompt_tokens"] + usage_chunk["usage"]["completion_tokens"]
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "one two three four"


def test_without_include_usage_there_is_no_usage_chunk(server: Server) -> None:
    token, _ = server.token()
    body = {"model": unique("ok"), "messages": [{"role": "user", "content": "x"}], "stream": True}
    response = httpx.post(
        f"{server.v1}/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    chunks = [json.loads(e[6:]) for e in response.content.split(b"\n\n")[:-2]]
    assert all("usage" not in c and c["choices"] for c in chunks)


def test_models_in_openais_list_shape(server: Server) -> None:
    token, _ = server.token()
    models = server.sdk(token).models.list()
    ids = [m.id for m in models.data]
    assert "openai/gpt-4" in ids
    raw = httpx.get(f"{server.v1}/models", headers={"Authorization": f"Bearer {token}"}).json()
    assert raw["object"] == "list"
    entry = next(e for e in raw["data"] if e["id"] == "openai/gpt-4")
    assert set(entry) == {"id", "object", "created", "owned_by"}
    assert (entry["object"], entry["owned_by"]) == ("model", "openai")
    assert isinstance(entry["created"], int)


def test_no_token_bad_token_revoked_and_expired_get_401(server: Server) -> None:
    messages: Any = [{"role": "user", "content": "x"}]
    response = httpx.post(f"{server.v1}/chat/completions", json={"messages": messages})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert set(response.json()["error"]) >= {"message", "type", "code"}
    with pytest.raises(openai.AuthenticationError):
        server.sdk("ca-not-a-token").chat.completions.create(model="x", messages=messages)
    token, token_id = server.token()
    from codearena.openai_api.tokens import revoke_token

    revoke_token(server.context.store, token_id)
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        server.sdk(token).chat.completions.create(model=unique("ok"), messages=messages)
    expired, expired_id = server.token(expires_days=1)
    from datetime import UTC, datetime, timedelta

    from codearena.store.api_models import ApiToken

    with server.context.store.session() as session:
        row = session.get(ApiToken, expired_id)
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        server.sdk(expired).models.list()
    assert api_rows(server) == []


def test_a_spent_budget_gets_402(server: Server) -> None:
    token, _ = server.token(budget_usd=1e-9)
    http = server.sdk(token)
    messages: Any = [{"role": "user", "content": "x"}]
    http.chat.completions.create(model=unique("ok"), messages=messages)  # spends > 1e-9
    with pytest.raises(openai.APIStatusError) as caught:
        http.chat.completions.create(model=unique("ok"), messages=messages)
    assert caught.value.status_code == 402
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "budget_exhausted"
    assert len(api_rows(server)) == 1


def test_the_rate_limit_gets_429_with_retry_after(server: Server) -> None:
    token, _ = server.token(rpm=2)
    http = server.sdk(token)
    messages: Any = [{"role": "user", "content": "x"}]
    for _ in range(2):
        http.chat.completions.create(model=unique("ok"), messages=messages)
    with pytest.raises(openai.RateLimitError) as caught:
        http.chat.completions.create(model=unique("ok"), messages=messages)
    assert int(caught.value.response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("error-400", 400, "bad_request"),
        ("error-401", 502, "upstream_auth_failed"),
        ("error-402", 502, "upstream_out_of_credits"),
        ("error-403", 403, "upstream_refused"),
        ("error-429", 429, "upstream_rate_limited"),
        ("error-503", 502, "upstream_unavailable"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_in_openais_format(
    server: Server, scenario: str, status: int, code: str, stream: bool
) -> None:
    token, _ = server.token()
    with pytest.raises(openai.APIStatusError) as caught:
        result = server.sdk(token).chat.completions.create(
            model=unique(scenario), messages=[{"role": "user", "content": "x"}], stream=stream
        )
        list(result) if stream else None
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == code
    assert "OPENROUTER_API_KEY" not in str(caught.value.body)
    assert statuses(server) == [["error"]]


def test_unknown_model_and_n_are_refused_before_any_call(server: Server) -> None:
    token, _ = server.token()
    http = server.sdk(token)
    messages: Any = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.NotFoundError) as missing:
        http.chat.completions.create(model="nobody/no-such-model", messages=messages)
    assert isinstance(missing.value.body, dict)
    assert missing.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="n=2 is not supported"):
        http.chat.completions.create(model=unique("ok"), messages=messages, n=2)
    with pytest.raises(openai.BadRequestError, match="messages"):
        http.chat.completions.create(model=unique("ok"), messages=[])
    assert api_rows(server) == []


def test_fallbacks_through_models_and_the_extension(server: Server) -> None:
    token, _ = server.token()
    http = server.sdk(token)
    messages: Any = [{"role": "user", "content": "ECHO:served"}]
    for extra in ({"models": [unique("ok")]}, {"codearena": {"fallbacks": [unique("ok")]}}):
        answer = http.chat.completions.create(
            model=unique("error-503"), messages=messages, extra_body=extra
        )
        assert answer.choices[0].message.content == "served"
    assert statuses(server) == [["ok"], ["ok"]]


def test_stop_tools_and_max_tokens_reach_the_upstream(server: Server, fake: FakeUpstream) -> None:
    token, _ = server.token()
    model = unique("ok")
    tools: Any = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    server.sdk(token).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "x"}],
        stop=["\n\n"],
        tools=tools,
        tool_choice="auto",
        max_tokens=50,
        temperature=0.2,
    )
    upstream = model.removeprefix("openrouter:")
    [sent] = [r.body for r in fake.requests if r.body and r.body.get("model") == upstream]
    assert sent["stop"] == ["\n\n"] and sent["tools"] == tools and sent["tool_choice"] == "auto"
    assert (sent["max_tokens"], sent["temperature"], sent["stream"]) == (50, 0.2, True)


def test_a_client_that_disconnects_mid_stream_leaves_an_interrupted_generation(
    server: Server,
) -> None:
    token, _ = server.token()
    body = {
        "model": unique("slow-0.2"),
        "messages": [{"role": "user", "content": "write add"}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client() as http,
        http.stream(
            "POST", f"{server.v1}/chat/completions", json=body, headers=headers
        ) as response,
    ):
        generation_id = response.headers["x-codearena-generation-id"]
        lines = response.iter_lines()
        received = ""
        while not received:
            line = next(lines)
            if line.startswith("data: "):
                chunk = json.loads(line[6:])
                received += chunk["choices"][0]["delta"].get("content") or ""
        # leaving the block closes the connection mid-stream
    for _ in range(2000):  # polling, no wall-clock assertion
        row = stored(server, generation_id)
        if row.status != "pending":
            break
        time.sleep(0.01)
    assert row.status == "interrupted"
    assert row.error_kind == "client_disconnected"
    assert row.text and DEFAULT_REPLY.startswith(row.text)
    assert row.text.startswith(received)
    assert len(row.text) < len(DEFAULT_REPLY)


def test_a_pending_row_that_cannot_be_written_fails_the_request_and_cancels_the_call(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pending row is written while the upstream call starts: when it fails, nothing is
    # answered but the database's error, and the upstream call (slow here) does not go on
    writer = server.app.state.openai_api.writer
    real = writer.write
    refused: list[object] = []

    async def write(record: Any) -> None:
        if not refused:
            refused.append(record)
            raise OSError("disk full")
        await real(record)

    monkeypatch.setattr(writer, "write", write)
    token, _ = server.token()
    model = unique("slow-first-30")
    for stream in (False, True):
        refused.clear()
        response = httpx.post(
            f"{server.v1}/chat/completions",
            json={
                "model": model,
                "messages": [{"role": "user", "content": "hi"}],
                "stream": stream,
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,  # inside the upstream's 30 s: the request did not wait for the call
        )
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "server_error"
        assert refused
    assert statuses(server) == []
    monkeypatch.setattr(writer, "write", real)
    answer = server.sdk(token).chat.completions.create(
        model=unique("ok"), messages=[{"role": "user", "content": "ECHO:still here"}]
    )
    assert answer.choices[0].message.content == "still here"
    assert statuses(server) == [["ok"]]


TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {"type": "object", "properties": {"a": {}, "b": {}}},
        },
    }
]


def _finishes(record: Any) -> bool:
    """Whether a writer's record is a call's finished row."""
    batch = Batch()
    record(batch)
    return bool(batch.finished)


def _ask(server: Server, token: str, model: str, stream: bool) -> tuple[str, str]:
    """``(generation id, answer text)`` of one call, read to its end (raw HTTP)."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{server.v1}/chat/completions", json=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    generation_id = response.headers["x-codearena-generation-id"]
    if not stream:
        return generation_id, response.json()["choices"][0]["message"]["content"]
    text = ""
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                text += choice["delta"].get("content") or ""
    assert response.text.rstrip().endswith("data: [DONE]")
    return generation_id, text


def _raw(server: Server, generation_id: str) -> Generation:
    """The generation as the database holds it now (not waiting for the endpoint)."""
    with server.context.store.session() as session:
        row = session.get(Generation, generation_id)
        assert row is not None
        session.expunge(row)
        return row


def test_the_answer_goes_out_before_its_finished_row_is_written(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the finished row is written once the answer has been sent: with its write held back,
    # the client has the whole answer while the row is still pending; released, it is ok
    writer = server.app.state.openai_api.writer
    real = writer.write
    held = threading.Event()

    async def write(record: Any, *, later: bool = False) -> None:
        assert later == _finishes(record)  # nobody waits for the finished row
        while _finishes(record) and not held.is_set():
            await asyncio.sleep(0.005)
        await real(record, later=later)

    monkeypatch.setattr(writer, "write", write)
    token, _ = server.token()
    for stream in (False, True):
        held.clear()
        generation_id, text = _ask(server, token, unique("ok"), stream)
        assert text == DEFAULT_REPLY
        assert _raw(server, generation_id).status == "pending"
        assert server.app.state.openai_api.in_flight == 1  # its record is still to come
        held.set()
        row = stored(server, generation_id)  # waits for the endpoint to settle
        assert (row.status, row.text) == ("ok", DEFAULT_REPLY)


def test_a_finished_row_that_cannot_be_written_is_logged_and_swept_at_the_next_start(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the answer has gone when its row fails: the client keeps it, the log says which row,
    # and the row stays pending until a start finds it older than any call can last
    writer = server.app.state.openai_api.writer
    real = writer.write

    async def write(record: Any, *, later: bool = False) -> None:
        if _finishes(record):
            raise OSError("disk full")
        await real(record, later=later)

    monkeypatch.setattr(writer, "write", write)
    token, _ = server.token()
    lost = []
    for stream in (False, True):
        generation_id, text = _ask(server, token, unique("ok"), stream)
        assert text == DEFAULT_REPLY
        server.settle()
        assert _raw(server, generation_id).status == "pending"
        assert f"the record of generation {generation_id} could not be written" in caplog.text
        lost.append(generation_id)
    monkeypatch.setattr(writer, "write", real)
    recent, _ = _ask(server, token, unique("ok"), False)
    server.settle()
    service = server.app.state.openai_api
    store = server.context.store
    older = timedelta(seconds=server.context.settings.gateway.total_timeout + 61)
    web = repo.create_task(store, prompt="a web task's call", prompt_style="plain")
    web_pending = repo.create_generation(store, web.id, 0, "x/y", "y", "fake")
    with store.session() as session:
        for generation_id in (*lost, web_pending.id):
            row = session.get(Generation, generation_id)
            assert row is not None
            row.created_at = datetime.now(UTC) - older
    assert service.sweep() == 2  # the endpoint's calls only, and only the old ones
    for generation_id in lost:
        row = _raw(server, generation_id)
        assert (row.status, row.error_kind) == ("interrupted", "server_stopped")
        assert row.finished_at is not None and row.error
    assert _raw(server, web_pending.id).status == "pending"  # not a call of the endpoint
    assert _raw(server, recent).status == "ok"
    assert service.sweep() == 0


def test_tool_calls_come_back_whole_and_are_stored(server: Server) -> None:
    token, _ = server.token()
    raw = server.sdk(token).chat.completions.with_raw_response.create(
        model=unique("tool-call"),
        messages=[{"role": "user", "content": "add 1 and 2"}],
        tools=TOOLS,
    )
    answer = raw.parse()
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert (call.id, call.type) == ("call_fake1", "function")
    assert call.function.name == "add"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"a": 1, "b": 2}  # type: ignore[union-attr]
    generation = stored(server, raw.headers["x-codearena-generation-id"])
    assert (generation.status, generation.finish_reason) == ("ok", "tool_calls")
    assert generation.tool_calls == [
        {
            "id": "call_fake1",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
        }
    ]


def test_tool_call_deltas_are_relayed_as_they_stream(server: Server) -> None:
    token, _ = server.token()
    stream = server.sdk(token).chat.completions.create(
        model=unique("tool-call"),
        messages=[{"role": "user", "content": "add 1 and 2"}],
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert len(deltas) == 3  # the id and name, then the arguments in two pieces
    assert deltas[0].id == "call_fake1" and deltas[0].function.name == "add"  # type: ignore[union-attr]
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(arguments) == {"a": 1, "b": 2}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None


def test_the_tool_result_goes_back_to_the_model_as_the_client_sent_it(
    server: Server, fake: FakeUpstream
) -> None:
    token, _ = server.token()
    model = unique("ok")
    messages: Any = [
        {"role": "user", "content": "add 1 and 2"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fake1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_fake1", "content": "3"},
    ]
    answer = server.sdk(token).chat.completions.create(model=model, messages=messages, tools=TOOLS)
    assert answer.choices[0].finish_reason == "stop"
    upstream = model.removeprefix("openrouter:")
    [sent] = [r.body for r in fake.requests if r.body and r.body.get("model") == upstream]
    assert sent["messages"] == messages
