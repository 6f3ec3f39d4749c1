"""The JSON API end to end, in process: study, join, consent, tasks, stream, run, rate, vote."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codearena.store.models import Execution
from codearena.store.platform_models import Rating, Vote
from tests.conftest import unique
from tests.web.conftest import Arena


def events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


async def test_named_task_streams_runs_and_is_rated(arena: Arena) -> None:
    fast, slow, broken = unique("ok"), unique("slow-0.02"), unique("error-502")
    study = arena.study([fast, slow, broken])
    client = await arena.participant(study)
    response = await client.post(
        "/api/tasks",
        {
            "text": "Write add(a, b)",
            "models": [fast, slow, broken],
            "tests": {"kind": "python", "code": "assert add(1, 2) == 3"},
        },
    )
    assert response.status_code == 202, response.text
    task_id = response.json()["id"]
    stream = await client.get(f"/api/tasks/{task_id}/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    kinds = [e["type"] for e in events(stream.text)]
    assert kinds[0] == "snapshot" and kinds[-1] == "end"
    view = await arena.finish(client, task_id)
    answers = {a["model"]: a for a in view["answers"]}
    assert answers[fast]["status"] == "ok", answers[fast]["error"]
    assert "def" in answers[fast]["html"]
    assert answers[broken]["status"] == "error" and answers[broken]["error"]
    assert answers[slow]["status"] == "ok" and answers[slow]["completion_tokens"]

    run = await client.post(f"/api/tasks/{task_id}/answers/0/run", {"block_index": 0})
    assert run.status_code == 200, run.text
    assert run.json()["verdict"] == "passed" and run.json()["tests_passed"] == 1
    rating = {"correctness": 5, "quality": 4, "usefulness": 4, "minutes_to_usable": 2}
    response = await client.post(f"/api/tasks/{task_id}/answers/0/rating", rating)
    assert response.status_code == 200, response.text
    assert (await client.post(f"/api/tasks/{task_id}/answers/1/upvote")).status_code == 200
    with arena.context.store.session() as session:
        assert session.query(Rating).one().correctness == 5
        assert session.query(Vote).one().model == slow
        assert session.query(Execution).one().verdict == "passed"
    history = (await client.get("/api/tasks")).json()
    assert [t["id"] for t in history] == [task_id]


async def test_blind_task_hides_models_until_the_vote(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    response = await client.post("/api/tasks", {"text": "Write add(a, b)"})
    assert response.status_code == 202, response.text
    task_id = response.json()["id"]
    stream = await client.get(f"/api/tasks/{task_id}/events")
    view = await arena.finish(client, task_id)
    page = await client.get(f"/tasks/{task_id}")
    hidden = [response.text, stream.text, json.dumps(view), page.text, str(page.headers)]
    for text in hidden:
        for model in (a, b):
            assert model not in text and model.split(":")[1] not in text
    for answer in view["answers"]:
        assert set(answer) == {"position", "name", "status", "html", "self_identified"}
    assert [x["name"] for x in view["answers"]] == ["Model A", "Model B"]
    voted = await client.post(f"/api/tasks/{task_id}/vote", {"choice": "a"})
    assert voted.status_code == 200, voted.text
    assert {x["model"] for x in voted.json()["answers"]} == {a, b}
    again = await client.post(f"/api/tasks/{task_id}/vote", {"choice": "b"})
    assert again.status_code == 409 and "already" in again.json()["error"]


async def test_an_answer_can_be_rated_while_a_slower_one_still_streams(arena: Arena) -> None:
    fast, slow = unique("ok"), unique("slow-first-3")
    study = arena.study([fast, slow])
    client = await arena.participant(study)
    response = await client.post("/api/tasks", {"text": "Write add", "models": [fast, slow]})
    task_id = response.json()["id"]
    rating = {"correctness": 4, "quality": 4, "usefulness": 5}
    for _ in range(200):  # until the fast answer has arrived (the slow one takes 3 s)
        first = await client.post(f"/api/tasks/{task_id}/answers/0/rating", rating)
        if first.status_code != 409:
            break
        await asyncio.sleep(0.02)
    assert first.status_code == 200, first.text
    early = await client.post(f"/api/tasks/{task_id}/answers/1/rating", rating)
    assert early.status_code == 409 and "wait" in early.json()["error"]
    view = (await client.get(f"/api/tasks/{task_id}")).json()
    assert view["complete"] is False, "the slow model was still streaming"
    await arena.finish(client, task_id)
    late = await client.post(f"/api/tasks/{task_id}/answers/1/rating", rating)
    assert late.status_code == 200, late.text


async def test_both_bad_is_stored_as_both_bad_whichever_spelling_is_sent(arena: Arena) -> None:
    """``both_bad`` is the API's value; the old ``bothbad`` (and ``both-bad``) still work."""
    study = arena.study([unique("ok"), unique("ok")], mode="blind")
    client = await arena.participant(study)
    for spelling in ("both_bad", "bothbad", "Both-Bad"):
        task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
        await arena.finish(client, task_id)
        voted = await client.post(f"/api/tasks/{task_id}/vote", {"choice": spelling})
        assert voted.status_code == 200, voted.text
        assert voted.json()["choice"] == "both_bad"
        assert voted.json()["choice_label"] == "Both are bad"
        view = (await client.get(f"/api/tasks/{task_id}")).json()
        assert view["vote"] == "both_bad"
    with arena.context.store.session() as session:
        assert [v.choice for v in session.query(Vote).all()] == ["both_bad"] * 3
