"""Controlled designs on the platform: participants get their schedule when they join, start
their tasks in order (the design's text, models and tests, nothing of their own), and the
researcher sees completion per cell; adaptive pairing draws the pairs of an open blind study."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.store.platform_models import DesignAssignment, Participant, Study, StudyTask, Vote
from codearena.studies import designs
from codearena.studies.study import TaskFileItem, get_study
from codearena.studies.tasks import blind_pair
from tests.conftest import unique
from tests.web.conftest import Arena

TASKS = [
    TaskFileItem(key="sum", prompt="ECHO:print(sum(map(int, input().split())))", language="python",
                 tests={"kind": "io", "examples": [["1 2\n", "3\n"]], "code": ""}),
    TaskFileItem(key="hello", prompt="ECHO:print('hello')", category="basics"),
    TaskFileItem(key="add", prompt="Write add(a, b)"),
]  # fmt: skip


def _models() -> list[str]:
    return [unique("ok"), unique("ok"), unique("ok")]


async def test_crossover_schedules_are_assigned_on_join_and_done_in_order(arena: Arena) -> None:
    models = _models()
    study_id = arena.study(models, "blind", design="crossover", design_tasks=TASKS, seed=9)
    people = [await arena.participant(study_id) for _ in range(6)]
    with arena.context.store.session() as session:
        rows = {
            a.participant_id: a
            for a in session.scalars(
                select(DesignAssignment).where(DesignAssignment.study_id == study_id)
            )
        }
    slots = sorted(r.slot for r in rows.values())
    assert slots == list(range(6))
    for row in rows.values():  # what is stored is the design's schedule for that slot
        plan = designs.assign(
            "crossover", "blind", models, [t.key for t in TASKS], row.slot, seed=9
        )
        assert row.items == [[key, list(m)] for key, m in plan.items]
    # over the 6 slots (the 6 ordered pairs), each task is answered by each ordered pair once
    for task in TASKS:
        pairs = Counter(tuple(m) for r in rows.values() for key, m in r.items if key == task.key)
        assert len(pairs) == 6 and set(pairs.values()) == {1}

    client = people[0]
    me = (await client.get("/api/study")).json()
    assert me["design"] == "crossover"
    schedule = me["schedule"]
    assert [s["status"] for s in schedule] == ["to do"] * 3
    assert all(s["models"] is None for s in schedule)  # blind: no names before the vote
    first, second = schedule[0]["item"], schedule[1]["item"]
    # out of order, or a task text of one's own, is refused
    wrong = await client.post("/api/tasks", {"item": second})
    assert wrong.status_code == 400 and "order given" in wrong.json()["error"]
    own = await client.post("/api/tasks", {"text": "my own task", "item": first})
    assert own.status_code == 400 and "gives you its tasks" in own.json()["error"]
    started = await client.post("/api/tasks", {"item": first})
    assert started.status_code == 202, started.text
    task_id = started.json()["id"]
    view = await arena.finish(client, task_id)
    assert len(view["answers"]) == 2
    with arena.context.store.session() as session:
        row = session.get(StudyTask, task_id)
        assert row is not None
        stored = {t.key: t for t in TASKS}[first]
        assert (row.design_item, row.prompt, row.tests) == (first, stored.prompt, stored.tests)
        assignment = rows[client.info["participant_id"]]
        assert row.models == dict((k, m) for k, m in assignment.items)[first]
        assert row.status == "done"
    me = (await client.get("/api/study")).json()
    assert [s["status"] for s in me["schedule"]] == ["done", "to do", "to do"]
    again = await client.post("/api/tasks", {"item": first})
    assert again.status_code == 400  # done: the next one is due

    with arena.context.store.session() as session:
        session.get(Study, study_id).owner_id = None  # type: ignore[union-attr]
    admin = await arena.staff("admin")
    progress = (await admin.get(f"/api/studies/{study_id}")).json()["design_progress"]
    assert progress["participants"] == 6 and progress["tasks"] == 3
    assert len(progress["cells"]) == 3 * 6
    assert sum(c["assigned"] for c in progress["cells"]) == 18
    assert sum(c["done"] for c in progress["cells"]) == 1
    page = await admin.get(f"/researcher/studies/{study_id}")
    assert page.status_code == 200 and page.text.count('data-testid="design-cell"') == 18
    assert "seed 9" in page.text


async def test_the_participant_page_lists_the_tasks_and_starts_the_next(arena: Arena) -> None:
    models = _models()
    study_id = arena.study(models, "named", design="between", design_tasks=TASKS, seed=1)
    client = await arena.participant(study_id)
    page = await client.get("/study")
    assert page.status_code == 200
    assert 'data-testid="design-tasks"' in page.text and 'data-testid="task-input"' not in page.text
    assert page.text.count('data-testid="design-item"') == 3
    assert "0 of 3 done" in page.text
    item = re.search(r'name="item" value="([^"]+)"', page.text)
    assert item is not None
    me = (await client.get("/api/study")).json()
    (condition,) = {tuple(s["models"]) for s in me["schedule"]}  # between, named: one model
    assert len(condition) == 1 and condition[0] in models
    response = await client.http.post(
        "/study/tasks", data={"csrf_token": client.csrf, "item": item.group(1)}
    )
    assert response.status_code == 303
    task_id = response.headers["location"].rsplit("/", 1)[1]
    view = await arena.finish(client, task_id)
    assert [a["model"] for a in view["answers"]] == list(condition)


def test_creation_checks_the_design(arena: Arena) -> None:
    from codearena.studies.errors import StudyError

    models = _models()
    with pytest.raises(StudyError, match="needs its task file"):
        arena.study(models, "blind", design="crossover")
    with pytest.raises(StudyError, match="controlled design"):
        arena.study(models, "blind", design_tasks=TASKS)
    with pytest.raises(StudyError, match="between 1 and 3"):
        arena.study(models, "blind", design="between", design_tasks=TASKS, tasks_per_participant=4)
    with pytest.raises(StudyError, match="adaptive pairing"):
        arena.study(models, "named", pairing="adaptive")
    with pytest.raises(StudyError, match="invalid design"):
        arena.study(models, "blind", design="latin", design_tasks=TASKS)
    drawn = get_study(
        arena.context.store, arena.study(models, "blind", design="between", design_tasks=TASKS)
    )
    assert drawn.design_seed is not None  # drawn, then stored


def test_adaptive_pairing_avoids_the_pair_the_votes_already_pin_down(arena: Arena) -> None:
    models = _models()
    study_id = arena.study(models, "blind", pairing="adaptive")
    study = get_study(arena.context.store, study_id)
    with arena.context.store.session() as session:
        session.add(Participant(id="P-VOTER", study_id=study_id, pseudonym="v"))
        session.flush()
        task = StudyTask(study_id=study_id, participant_id="P-VOTER", mode="blind",
                         models=models[:2], prompt="p", status="done")  # fmt: skip
        session.add(task)
        session.flush()
        session.add_all(
            Vote(study_task_id=task.id, study_id=study_id, participant_id=f"P-{i}", kind="battle",
                 position=-1 - i, choice="a" if i % 2 else "b", model_a=models[0], model_b=models[1])
            for i in range(40)
        )  # fmt: skip
    drawn = Counter(tuple(sorted(blind_pair(arena.context.store, study))) for _ in range(200))
    assert drawn[tuple(sorted(models[:2]))] < 60  # about a tenth: the exploration share
    assert sum(drawn.values()) == 200


def test_the_cli_creates_a_controlled_study_from_a_task_file(
    arena: Arena,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_cli import run

    monkeypatch.setenv("CODEARENA_DATABASE_URL", arena.context.settings.database_url)
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(line)
            for line in (
                {
                    "id": "t1",
                    "prompt": "Sum two numbers",
                    "examples": [{"stdin": "1 2\n", "stdout": "3\n"}],
                },
                {"id": "t2", "prompt": "Say hello", "category": "basics"},
            )
        ),
        encoding="utf-8",
    )
    models = ",".join(_models())
    args = ["study", "create", "--name", "controlled", "--models", models, "--mode", "blind"]
    code, out, err = run(capsys, *args, "--design", "crossover", "--tasks", str(path),
                         "--tasks-per-participant", "1", "--seed", "42", "--json")  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert (body["design"], body["design_seed"], body["tasks_per_participant"]) == (
        "crossover",
        42,
        1,
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "t1"}\n', encoding="utf-8")
    code, _, err = run(capsys, *args, "--design", "crossover", "--tasks", str(bad))
    assert code == 2 and "line 1: 'prompt' is required" in err
