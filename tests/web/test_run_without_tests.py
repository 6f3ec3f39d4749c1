"""The Run button on a task without tests: the run is stored with verdict ``ran``, not ``passed``."""

from __future__ import annotations

from codearena.store.models import Execution
from tests.conftest import unique
from tests.web.conftest import Arena


async def test_run_on_a_task_without_tests_is_ran_not_passed(arena: Arena) -> None:
    model, other = unique("ok"), unique("ok")
    study = arena.study([model, other])
    client = await arena.participant(study)
    response = await client.post(
        "/api/tasks", {"text": "Write add(a, b)", "models": [model, other]}
    )
    assert response.status_code == 202, response.text
    task_id = response.json()["id"]
    view = await arena.finish(client, task_id)
    assert view["answers"][0]["status"] == "ok", view["answers"][0]["error"]

    run = await client.post(f"/api/tasks/{task_id}/answers/0/run", {"block_index": 0})
    assert run.status_code == 200, run.text
    body = run.json()
    assert (body["verdict"], body["exit_code"]) == ("ran", 0)
    assert body["tests_passed"] is None and body["tests_total"] is None
    with arena.context.store.session() as session:
        stored = session.query(Execution).one()
        assert (stored.verdict, stored.test_kind, stored.source) == ("ran", None, "web")
