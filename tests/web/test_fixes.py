"""Fix it yourself through the JSON API: start, resume, input pings, a run in the sandbox through
the Run button's execution step, done; the measured row; who may touch an attempt; blind mode.

The app's clock is replaced (``Platform.clock``), so the active time is exact and nothing
depends on the wall clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from codearena.store.models import Execution
from codearena.store.platform_models import Fix
from tests.conftest import unique
from tests.web.conftest import Arena, Client

TESTS = {"kind": "python", "code": "assert add(1, 2) == 3"}
FIXED = "def add(a, b):\n    # plus, not minus\n    return a + b\n"


class Clock:
    """The server's clock in a test: it says what it is told."""

    def __init__(self) -> None:
        self.start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        self.now = self.start

    def at(self, seconds: float) -> None:
        self.now = self.start + timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return self.now


def _clock(arena: Arena) -> Clock:
    clock = Clock()
    arena.app.state.platform.clock = clock
    return clock


async def _task(arena: Arena, client: Client, models: list[str]) -> str:
    """A finished task with tests (``models``: the named study's; none for a blind one)."""
    body: dict[str, object] = {"text": "Write add(a, b) in Python", "tests": TESTS}
    if models:
        body["models"] = models
    response = await client.post("/api/tasks", body)
    assert response.status_code == 202, response.text
    task_id = str(response.json()["id"])
    await arena.finish(client, task_id)
    return task_id


async def test_a_fix_is_started_resumed_run_and_done_with_its_measured_time(
    arena: Arena,
) -> None:
    clock = _clock(arena)
    wrong, right = unique("wrong-9"), unique("ok")
    client = await arena.participant(arena.study([wrong, right]))
    task_id = await _task(arena, client, [wrong, right])

    started = await client.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 0})
    assert started.status_code == 201, started.text
    fix = started.json()
    assert "a - b" in fix["code"] and fix["outcome"] is None and fix["runs"] == 0
    assert (fix["position"], fix["turn"], fix["resumed"]) == (0, 1, False)
    clock.at(5)
    again = await client.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 0})
    assert again.status_code == 200 and again.json()["id"] == fix["id"] and again.json()["resumed"]

    base = f"/api/tasks/{task_id}/fixes/{fix['id']}"
    clock.at(15)
    ping = await client.post(f"{base}/activity", {"inputs": 7})
    assert ping.status_code == 200 and ping.json()["active_seconds"] == 15.0
    clock.at(25)
    ran = await client.post(f"{base}/run", {"code": FIXED})
    assert ran.status_code == 200, ran.text
    assert ran.json()["run"]["verdict"] == "passed" and ran.json()["run"]["tests_passed"] == 1
    assert ran.json()["fix"]["runs"] == 1 and ran.json()["fix"]["verdict"] == "passed"
    clock.at(200)  # away for almost three minutes: not counted
    done = await client.post(f"{base}/done", {"code": FIXED})
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "done" and done.json()["active_seconds"] == 25.0

    with arena.context.store.session() as session:
        row = session.get(Fix, fix["id"])
        assert row is not None
        assert row.participant == client.info["participant_id"]
        assert (row.runs, row.verdict, row.outcome) == (1, "passed", "done")
        assert (row.lines_added, row.lines_removed, row.final_code) == (2, 1, FIXED)
        assert row.active_seconds == 25.0
        runs = session.scalars(select(Execution)).all()
        assert [(e.source, e.verdict) for e in runs] == [("fix", "passed")]

    view = (await client.get(f"/api/tasks/{task_id}")).json()
    assert [(f["id"], f["outcome"]) for f in view["fixes"]] == [(fix["id"], "done")]
    listed = (await client.get(f"/api/tasks/{task_id}/fixes")).json()
    assert [f["id"] for f in listed] == [fix["id"]]
    page = (await client.get(f"/tasks/{task_id}")).text
    assert "Fixed by hand: done · last run passed · 1 run · +2 \u22121 lines · 25 s active" in page
    assert 'data-testid="fix-open"' in page and 'data-outcome="done"' in page

    ended = await client.post(f"{base}/done", {"code": FIXED})
    assert ended.status_code == 409 and "has ended" in ended.json()["error"]
    restart = await client.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 0})
    assert restart.status_code == 409 and "fixed by hand once" in restart.json()["error"]


async def test_abandon_keeps_the_code_and_the_last_verdict(arena: Arena) -> None:
    clock = _clock(arena)
    models = [unique("wrong-9"), unique("ok")]
    client = await arena.participant(arena.study(models))
    task_id = await _task(arena, client, models)
    fix = (await client.post(f"/api/tasks/{task_id}/answers/0/fix")).json()  # no body: block 0
    base = f"/api/tasks/{task_id}/fixes/{fix['id']}"
    clock.at(8)
    ran = await client.post(f"{base}/run", {"code": "def add(a, b):\n    return a * b\n"})
    assert ran.json()["run"]["verdict"] == "failed"
    clock.at(20)
    gave_up = await client.post(f"{base}/abandon", {"code": "def add(a, b):\n    return a * b\n"})
    assert gave_up.status_code == 200, gave_up.text
    result = gave_up.json()
    assert (result["outcome"], result["verdict"], result["runs"]) == ("abandoned", "failed", 1)
    assert (result["lines_added"], result["lines_removed"], result["active_seconds"]) == (1, 1, 20)
    late = await client.post(f"{base}/run", {"code": FIXED})
    assert late.status_code == 409


async def test_only_the_tasks_participant_may_fix_its_answers(arena: Arena) -> None:
    _clock(arena)
    models = [unique("ok"), unique("ok")]
    study = arena.study(models)
    owner, other = await arena.participant(study), await arena.participant(study)
    task_id = await _task(arena, owner, models)
    other_task = await _task(arena, other, models)
    fix = (await owner.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 0})).json()

    # someone else's task is a missing one, and so is someone else's attempt on one's own task
    assert (await other.post(f"/api/tasks/{task_id}/answers/0/fix")).status_code == 404
    for url, body in [
        (f"/api/tasks/{task_id}/fixes/{fix['id']}/activity", {"inputs": 1}),
        (f"/api/tasks/{task_id}/fixes/{fix['id']}/run", {"code": FIXED}),
        (f"/api/tasks/{task_id}/fixes/{fix['id']}/done", {"code": FIXED}),
        (f"/api/tasks/{other_task}/fixes/{fix['id']}/done", {"code": FIXED}),
        (f"/api/tasks/{other_task}/fixes/{fix['id']}/abandon", {"code": FIXED}),
    ]:
        response = await other.post(url, body)
        assert response.status_code == 404, (url, response.text)
    assert (await other.get(f"/api/tasks/{other_task}/fixes/{fix['id']}")).status_code == 404

    stranger = await arena.client()  # not signed in
    assert (await stranger.post(f"/api/tasks/{task_id}/answers/0/fix")).status_code == 401
    researcher = await arena.staff()
    assert (await researcher.post(f"/api/tasks/{task_id}/answers/0/fix")).status_code == 403
    owner.http.headers.pop("X-CSRF-Token")
    no_csrf = await owner.post(f"/api/tasks/{task_id}/fixes/{fix['id']}/done", {"code": FIXED})
    assert no_csrf.status_code == 403
    with arena.context.store.session() as session:
        row = session.get(Fix, fix["id"])
        assert row is not None and row.outcome is None and row.runs == 0


async def test_bad_fix_input_is_refused_and_changes_nothing(arena: Arena) -> None:
    _clock(arena)
    models = [unique("ok"), unique("ok")]
    client = await arena.participant(arena.study(models))
    task_id = await _task(arena, client, models)
    missing = await client.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 4})
    assert missing.status_code == 404 and "no code block 4" in missing.json()["error"]
    fix = (await client.post(f"/api/tasks/{task_id}/answers/0/fix", {"block_index": 0})).json()
    base = f"/api/tasks/{task_id}/fixes/{fix['id']}"
    assert (await client.post(f"{base}/activity", {"inputs": 0})).status_code == 422
    keys = await client.post(f"{base}/activity", {"inputs": 1, "keys": "abc"})
    assert keys.status_code == 422  # a ping carries a count, never what was typed
    too_long = await client.post(f"{base}/done", {"code": "x" * 100_001})
    assert too_long.status_code == 422
    assert (
        await client.post(f"/api/tasks/{task_id}/fixes/nope/done", {"code": ""})
    ).status_code == 404
    with arena.context.store.session() as session:
        row = session.get(Fix, fix["id"])
        assert row is not None and row.outcome is None and row.final_code is None


async def test_a_blind_fix_names_no_model(arena: Arena) -> None:
    _clock(arena)
    a, b = unique("wrong-9"), unique("ok")
    client = await arena.participant(arena.study([a, b], mode="blind"))
    task_id = await _task(arena, client, [])
    texts = []
    for position in (0, 1):
        started = await client.post(f"/api/tasks/{task_id}/answers/{position}/fix")
        assert started.status_code == 201, started.text
        texts.append(started.text)
        base = f"/api/tasks/{task_id}/fixes/{started.json()['id']}"
        texts.append((await client.post(f"{base}/run", {"code": FIXED})).text)
        texts.append((await client.post(f"{base}/done", {"code": FIXED})).text)
    texts.append((await client.get(f"/tasks/{task_id}")).text)
    texts.append(json.dumps((await client.get(f"/api/tasks/{task_id}")).json()))
    for text in texts:
        for model in (a, b):
            assert model not in text and model.split("/")[1] not in text
    assert "Fixed by hand: done" in texts[-2]


async def test_the_dashboard_shows_each_models_answers_fixed_by_hand(arena: Arena) -> None:
    clock = _clock(arena)
    wrong, right = unique("wrong-9"), unique("ok")
    study = arena.study([wrong, right])
    client = await arena.participant(study)
    task_id = await _task(arena, client, [wrong, right])
    rating = {"correctness": 2, "minutes_to_usable": 3}
    assert (await client.post(f"/api/tasks/{task_id}/answers/0/rating", rating)).status_code == 200
    fix = (await client.post(f"/api/tasks/{task_id}/answers/0/fix")).json()
    clock.at(42)
    base = f"/api/tasks/{task_id}/fixes/{fix['id']}"
    assert (await client.post(f"{base}/run", {"code": FIXED})).status_code == 200
    clock.at(50)
    assert (await client.post(f"{base}/done", {"code": FIXED})).status_code == 200
    other = (await client.post(f"/api/tasks/{task_id}/answers/1/fix")).json()
    gave_up = await client.post(f"/api/tasks/{task_id}/fixes/{other['id']}/abandon", {"code": ""})
    assert gave_up.status_code == 200

    admin = await arena.staff("admin")
    data = (await admin.get(f"/api/studies/{study}/analysis?rounds=20")).json()
    by_model = {f["model"]: f for f in data["fixes"]}
    assert list(by_model) == [wrong, right]
    assert by_model[wrong] | {"model": None} == {
        "model": None,
        "answers": 1,
        "attempts": 1,
        "done": 1,
        "abandoned": 0,
        "passed": 1,
        "fixed_share": 1.0,
        "median_active_s": 50.0,
        "median_lines_changed": 3.0,
        "median_estimate_min": 3.0,
    }
    assert (by_model[right]["done"], by_model[right]["abandoned"]) == (0, 1)
    assert by_model[right]["fixed_share"] == 0.0 and by_model[right]["median_active_s"] is None
    page = (await admin.get(f"/researcher/studies/{study}/dashboard?rounds=20")).text
    assert 'data-testid="fixes"' in page and page.count('data-testid="fixes-row"') == 2
    assert "50 s" in page and "100%" in page
