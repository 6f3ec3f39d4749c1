"""Ratings and upvotes of every turn through the JSON API and the page (``?turn=N``; without
it, turn 1 as before); blind turns stay anonymous; exports carry the turn and import back."""

from __future__ import annotations

import json
from pathlib import Path

from codearena.exports import export_study, import_export
from codearena.store import Store
from codearena.store.platform_models import Rating, Vote
from tests.conftest import unique
from tests.web.conftest import Arena
from tests.web.test_follow_ups import _round


async def test_named_turns_are_rated_and_upvoted_separately(arena: Arena, tmp_path: Path) -> None:
    first, second = unique("ok"), unique("ok")
    study = arena.study([first, second])
    client = await arena.participant(study)
    created = await client.post(
        "/api/tasks", {"text": "Write add(a, b)", "models": [first, second]}
    )
    task_id = created.json()["id"]
    await arena.finish(client, task_id)
    assert (await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "More."})).is_success
    await _round(arena, client, task_id, 2)

    url = f"/api/tasks/{task_id}/answers/0"
    old = await client.post(f"{url}/rating", {"correctness": 5, "comment": "turn one"})
    assert old.status_code == 200 and old.json()["turn"] == 1
    later = await client.post(f"{url}/rating?turn=2", {"correctness": 2, "comment": "turn two"})
    assert later.status_code == 200 and later.json()["turn"] == 2
    assert (await client.post(f"{url}/rating?turn=3", {"correctness": 1})).status_code == 404
    assert (await client.post(f"{url}/rating?turn=0", {"correctness": 1})).status_code == 422
    assert (await client.post(f"{url}/upvote?turn=2")).json() == {
        "position": 0,
        "turn": 2,
        "model": first,
    }
    assert (await client.post(f"{url}/upvote?turn=2")).status_code == 409
    assert (await client.post(f"{url}/upvote")).status_code == 200  # turn 1, the old URL

    view = (await client.get(f"/api/tasks/{task_id}")).json()
    assert view["ratings"]["0"]["correctness"] == 5  # the old key: turn 1's, by position
    assert view["ratings_by_turn"]["2"]["0"]["comment"] == "turn two"
    assert view["upvoted"] == [0] and view["upvoted_by_turn"] == {"1": [0], "2": [0]}
    page = (await client.get(f"/tasks/{task_id}")).text
    assert page.count('data-testid="rating-save"') == 4  # every answer of both turns
    assert ">turn two</textarea>" in page and ">turn one</textarea>" in page

    with arena.context.store.session() as session:
        ratings = {r.turn: r for r in session.query(Rating)}
        assert {t: r.correctness for t, r in ratings.items()} == {1: 5, 2: 2}
        assert ratings[1].generation_id != ratings[2].generation_id
        assert sorted(v.turn for v in session.query(Vote)) == [1, 2]

    out = tmp_path / "export"
    export_study(arena.context.store, study, out, "jsonl")
    rows = [json.loads(line) for line in (out / "ratings.jsonl").read_text().splitlines()]
    assert [(r["turn"], r["correctness"]) for r in rows] == [(1, 5), (2, 2)]
    votes = [json.loads(line) for line in (out / "votes.jsonl").read_text().splitlines()]
    assert sorted(v["turn"] for v in votes) == [1, 2]
    copy = Store(f"sqlite:///{tmp_path / 'copy.db'}")
    assert import_export(copy, out) == study
    with copy.session() as session:
        assert sorted(r.turn for r in session.query(Rating)) == [1, 2]
    copy.dispose()


async def test_a_blind_later_turn_is_rated_without_naming_a_model(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
    await arena.finish(client, task_id)
    assert (await client.post(f"/api/tasks/{task_id}/follow-up", {"text": "Hints."})).is_success
    await _round(arena, client, task_id, 2)
    rated = await client.post(f"/api/tasks/{task_id}/answers/1/rating?turn=2", {"quality": 4})
    assert rated.status_code == 200
    view = await client.get(f"/api/tasks/{task_id}")
    page = await client.get(f"/tasks/{task_id}")
    for text in (rated.text, view.text, page.text):
        for model in (a, b):
            assert model not in text and model.split(":")[1] not in text
    assert view.json()["ratings_by_turn"] == {"2": {"1": rated.json()}}
    assert view.json()["ratings"] == {}
    refused = await client.post(f"/api/tasks/{task_id}/answers/1/upvote?turn=2")
    assert refused.status_code == 400  # blind tasks vote, they do not upvote
