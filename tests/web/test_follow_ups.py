"""Follow-ups, blind turns, budgets, the turn limit and repair rounds through the JSON API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codearena.conversations import MAX_TURNS
from codearena.store.models import Generation
from codearena.store.platform_models import Vote
from codearena.testing.fake_upstream import FakeUpstream
from tests.conftest import unique
from tests.web.conftest import Arena, Client
from tests.web.test_api_flow import events

TESTS = {"kind": "python", "code": "assert add(1, 2) == 3"}


async def _round(arena: Arena, client: Client, task_id: str, turn: int) -> dict[str, Any]:
    """Wait (by polling, no wall-clock assertion) until every answer of ``turn`` is in."""
    for _ in range(2000):
        view = (await client.get(f"/api/tasks/{task_id}")).json()
        rounds = {t["turn"]: t["answers"] for t in view["turns"]}
        done = turn in rounds and all(a["status"] in ("ok", "error") for a in rounds[turn])
        if done and not view["round_live"]:
            return dict(view)
        await asyncio.sleep(0.01)
    raise AssertionError(f"turn {turn} did not finish")


def _sent(fake: FakeUpstream, model: str) -> list[list[dict[str, str]]]:
    name = model.removeprefix("openrouter:")
    return [r.body["messages"] for r in fake.requests if r.body and r.body.get("model") == name]


async def test_a_named_follow_up_continues_each_models_own_conversation(
    arena: Arena, fake: FakeUpstream
) -> None:
    first, second = unique("ok"), unique("ok")
    study = arena.study([first, second])
    client = await arena.participant(study)
    created = await client.post(
        "/api/tasks", {"text": "Write add(a, b)", "models": [first, second]}
    )
    task_id = created.json()["id"]
    view = await arena.finish(client, task_id)
    assert view["turns"] == []
    sent = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "Now handle floats."})
    assert sent.status_code == 202, sent.text
    view = await _round(arena, client, task_id, 2)
    (turn,) = view["turns"]
    assert [(a["position"], a["turn"], a["kind"]) for a in turn["answers"]] == [
        (0, 2, "follow_up"),
        (1, 2, "follow_up"),
    ]
    assert all(a["prompt"] == "Now handle floats." and a["status"] == "ok" for a in turn["answers"])
    with arena.context.store.session() as session:
        earlier = {g.model: g.text for g in session.query(Generation).filter(Generation.turn == 1)}
    for model in (first, second):  # each was sent its own earlier answer, then the follow-up
        messages = _sent(fake, model)[-1]
        assert [m["role"] for m in messages[-3:]] == ["user", "assistant", "user"]
        assert messages[-2]["content"] == earlier[model]
        assert messages[-1]["content"] == "Now handle floats."
    stream = await client.get(f"/api/tasks/{task_id}/events?turn=2")
    snapshot = events(stream.text)[0]
    assert snapshot["turn"] == 2 and [a["turn"] for a in snapshot["answers"]] == [2, 2]
    # the turn-2 answer runs by its turn; the old URL is turn 1
    run = await client.post(f"/api/tasks/{task_id}/answers/0/run?turn=2", {"block_index": 0})
    assert run.status_code == 200, run.text
    again = await client.post(f"/api/tasks/{task_id}/answers/0/run?turn=3", {"block_index": 0})
    assert again.status_code == 404


async def test_a_blind_conversation_stays_anonymous_and_the_vote_counts_its_turns(
    arena: Arena,
) -> None:
    a, b = unique("ok"), unique("ok")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
    await arena.finish(client, task_id)
    sent = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "Add type hints."})
    assert sent.status_code == 202, sent.text
    live = await client.get(f"/api/tasks/{task_id}/events?turn=2")
    view = await _round(arena, client, task_id, 2)
    stream = await client.get(f"/api/tasks/{task_id}/events?turn=2")
    page = await client.get(f"/tasks/{task_id}")
    assert 'data-turn="2"' in page.text
    for text in (sent.text, live.text, stream.text, json.dumps(view), page.text):
        for model in (a, b):
            assert model not in text and model.split(":")[1] not in text
    assert [x["name"] for x in view["turns"][0]["answers"]] == ["Model A", "Model B"]
    voted = await client.post(f"/api/tasks/{task_id}/vote", {"choice": "tie"})
    assert voted.status_code == 200, voted.text
    with arena.context.store.session() as session:
        assert session.query(Vote).one().turns_seen == 2
    revealed = (await client.get(f"/api/tasks/{task_id}")).json()
    assert {x["model"] for x in revealed["turns"][0]["answers"]} == {a, b}


async def test_follow_ups_count_against_the_task_budget(arena: Arena) -> None:
    first, second = unique("ok"), unique("ok")
    study = arena.study([first, second], budget_tasks=2)
    client = await arena.participant(study)
    task = await client.post("/api/tasks", {"text": "Write add(a, b)", "models": [first, second]})
    task_id = task.json()["id"]
    await arena.finish(client, task_id)
    assert (
        await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "More."})
    ).status_code == 202
    await _round(arena, client, task_id, 2)
    assert (await client.get("/api/study")).json()["tasks_used"] == 2
    refused = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "Again."})
    assert refused.status_code == 403
    assert refused.json()["error"] == "you have used all 2 tasks of this study"


async def test_a_conversation_stops_at_its_turn_limit(arena: Arena) -> None:
    first, second = unique("ok"), unique("ok")
    study = arena.study([first, second])
    client = await arena.participant(study)
    task = await client.post("/api/tasks", {"text": "Write add(a, b)", "models": [first, second]})
    task_id = task.json()["id"]
    await arena.finish(client, task_id)
    for turn in range(2, MAX_TURNS + 1):
        sent = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": f"Turn {turn}."})
        assert sent.status_code == 202, sent.text
        await _round(arena, client, task_id, turn)
    refused = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "One more."})
    assert refused.status_code == 400
    assert "reached its 5 turns" in refused.json()["error"]
    page = await client.post(f"/tasks/{task_id}/follow-up", None)
    assert page.status_code in (400, 422)
    empty = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "  "})
    assert empty.status_code == 400


async def test_a_failed_run_goes_back_to_its_model_only(arena: Arena, fake: FakeUpstream) -> None:
    right, wrong = unique("ok"), unique("wrong-1")
    study = arena.study([right, wrong])
    client = await arena.participant(study)
    task = await client.post(
        "/api/tasks", {"text": "Write add(a, b)", "models": [right, wrong], "tests": TESTS}
    )
    task_id = task.json()["id"]
    await arena.finish(client, task_id)
    early = await client.post(f"/api/tasks/{task_id}/answers/1/repair", {})
    assert early.status_code == 400 and "run this answer first" in early.json()["error"]
    run = await client.post(f"/api/tasks/{task_id}/answers/1/run", {"block_index": 0})
    assert run.json()["verdict"] != "passed"
    sent = await client.post(f"/api/tasks/{task_id}/answers/1/repair", {})
    assert sent.status_code == 202, sent.text
    view = await _round(arena, client, task_id, 2)
    (answer,) = view["turns"][0]["answers"]
    assert (answer["position"], answer["kind"]) == (1, "repair")
    assert answer["prompt"].startswith("Your code did not pass the tests.")
    assert _sent(fake, wrong)[-1][-1]["content"] == answer["prompt"]
    fixed = await client.post(f"/api/tasks/{task_id}/answers/1/run?turn=2", {"block_index": 0})
    assert fixed.json()["verdict"] == "passed", fixed.text


async def test_a_blind_repair_gives_the_other_side_the_same_turn(arena: Arena) -> None:
    a, b = unique("wrong-1"), unique("wrong-1")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    task = await client.post("/api/tasks", {"text": "Write add(a, b)", "tests": TESTS})
    task_id = task.json()["id"]
    await arena.finish(client, task_id)
    await client.post(f"/api/tasks/{task_id}/answers/0/run", {"block_index": 0})
    sent = await client.post(f"/api/tasks/{task_id}/answers/0/repair", {})
    assert sent.status_code == 202, sent.text
    view = await _round(arena, client, task_id, 2)
    turn = view["turns"][0]["answers"]
    assert [(x["position"], x["kind"]) for x in turn] == [(0, "repair"), (1, "repair")]
    assert turn[0]["prompt"].startswith("Your code did not pass")
    assert turn[1]["prompt"].startswith("Check your code once more")
    for text in (sent.text, json.dumps(view)):
        assert a not in text and b not in text


async def test_a_refused_blind_follow_up_names_no_model(arena: Arena) -> None:
    a, b = unique("ok"), unique("error-502")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
    await arena.finish(client, task_id)
    refused = await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "More."})
    assert refused.status_code == 400
    message = refused.json()["error"]
    assert "did not arrive" in message and "Model " in message
    page = await client.post(f"/tasks/{task_id}/follow-up", None)
    for text in (message, page.text):
        for model in (a, b):
            assert model not in text and model.split(":")[1] not in text
