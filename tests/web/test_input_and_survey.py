"""Bad input changes nothing; ratings and survey answers survive a restart; instruments; CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codearena.catalog import Catalog
from codearena.config import Settings
from codearena.pipeline import Context
from codearena.store import Store
from codearena.store.platform_models import Rating, StudyTask, SurveyAnswer, Vote
from codearena.survey import STUDY_2025, InstrumentError, get_instrument
from codearena.web.app import create_app
from codearena.web.cli import study_app, users_app
from codearena.web.render import render_answer
from tests.conftest import unique
from tests.web.conftest import Arena


def _count(arena: Arena, model: type) -> int:
    with arena.context.store.session() as session:
        return session.query(model).count()


async def test_bad_tasks_get_a_message_and_change_nothing(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    for body, status, message in [
        ({"text": "   ", "models": [a, b]}, 400, "task is empty"),
        ({"text": "x" * 100_001, "models": [a, b]}, 400, "limit is 100,000"),
        ({"text": "t", "models": [a, "openai/gpt-4"]}, 400, "unknown model"),
        ({"text": "t", "models": [a]}, 400, "choose 2 to 8"),
        ({"text": "t", "models": [a, b], "tone": "angry"}, 400, "Professional"),
        ({"text": "t", "models": [a, b], "extra": 1}, 422, "extra"),
    ]:
        response = await client.post("/api/tasks", body)
        assert response.status_code == status, response.text
        assert message in response.json()["error"]
    assert _count(arena, StudyTask) == 0


async def test_bad_ratings_and_votes_change_nothing(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    study = arena.study([a, b], mode="blind")
    owner = await arena.participant(study)
    task = (await owner.post("/api/tasks", {"text": "t"})).json()["id"]
    await arena.finish(owner, task)
    intruder = await arena.participant(study)
    vote = await intruder.post(f"/api/tasks/{task}/vote", {"choice": "a"})
    assert vote.status_code == 404 and vote.json()["error"] == "no such task"
    for body in ({"correctness": 6}, {"quality": 0}, {"minutes_to_usable": -1}, {}):
        response = await owner.post(f"/api/tasks/{task}/answers/0/rating", body)
        assert response.status_code in (400, 422) and response.json()["error"]
    bad = await owner.post(f"/api/tasks/{task}/vote", {"choice": "c"})
    assert bad.status_code == 422
    assert _count(arena, Rating) == 0 and _count(arena, Vote) == 0
    view = (await owner.get(f"/api/tasks/{task}")).json()
    assert view["revealed"] is False


async def test_blind_pairs_are_balanced(arena: Arena) -> None:
    models = [unique("ok") for _ in range(3)]
    client = await arena.participant(arena.study(models, mode="blind"))
    for _ in range(6):
        task = (await client.post("/api/tasks", {"text": "t"})).json()["id"]
        await arena.finish(client, task)
    with arena.context.store.session() as session:
        pairs = [tuple(sorted(r.models)) for r in session.query(StudyTask)]
    assert sorted({p: pairs.count(p) for p in pairs}.values()) == [2, 2, 2]


async def test_budget_is_enforced_on_the_server(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b], budget_tasks=1))
    first = await client.post("/api/tasks", {"text": "t", "models": [a, b]})
    await arena.finish(client, first.json()["id"])
    second = await client.post("/api/tasks", {"text": "t", "models": [a, b]})
    assert second.status_code == 403 and "all 1 tasks" in second.json()["error"]


async def test_answers_survive_a_restart(arena: Arena, settings: Settings) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    task = (await client.post("/api/tasks", {"text": "t", "models": [a, b]})).json()["id"]
    await arena.finish(client, task)
    assert (await client.post(f"/api/tasks/{task}/answers/1/rating", {"usefulness": 2})).is_success
    saved = await client.put("/api/survey/answers/q6", {"value": ["PhP", "Python"]})
    assert saved.json()["value"] == ["Python", "PhP"]
    assert (await client.put("/api/survey/answers/q13", {"value": 9})).status_code == 400
    submit = await client.post("/api/survey/submit")
    assert submit.status_code == 400 and "q1" in submit.json()["error"]
    store = Store(settings.database_url)  # a new process would open the same database
    try:
        with store.session() as session:
            assert session.query(Rating).one().usefulness == 2
            assert session.query(SurveyAnswer).one().value == ["Python", "PhP"]
        app = create_app(Context(settings, store, Catalog(settings)))
        assert app.state.platform.secret == arena.app.state.platform.secret
    finally:
        store.dispose()


def test_the_study_instrument_has_the_15_questions() -> None:
    assert len(STUDY_2025.questions) == 15
    assert STUDY_2025.question("q13").kind == "rating"
    assert STUDY_2025.question("q6").kind == "multi"
    assert "GPT 4o" in STUDY_2025.question("q12").options
    assert [q.id for q in STUDY_2025.questions if not q.required] == ["q14", "q15"]


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_instruments_load_from_toml_and_yaml(tmp_path: Path, suffix: str) -> None:
    data = {
        "name": "team",
        "questions": [
            {"id": "role", "text": "Your role?", "kind": "single", "options": ["Dev", "Ops"]},
            {"text": "Anything else?", "kind": "text", "required": False},
        ],
    }
    path = tmp_path / f"team{suffix}"
    if suffix == ".toml":
        lines = ['name = "team"']
        lines += ["[[questions]]", 'id = "role"', 'text = "Your role?"', 'kind = "single"']
        lines += ['options = ["Dev", "Ops"]', "[[questions]]", 'text = "Anything else?"']
        lines += ['kind = "text"', "required = false"]
        path.write_text("\n".join(lines))
    else:
        path.write_text(json.dumps(data))  # JSON is valid YAML
    instrument = get_instrument(str(path))
    assert [q.id for q in instrument.questions] == ["role", "q2"]
    assert instrument.missing({}) == [instrument.questions[0]]
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[[questions]]\ntext = 'a'\nkind = 'single'\n")
    with pytest.raises(InstrumentError, match="question 1: a single question needs options"):
        get_instrument(str(bad))


def test_markdown_rendering_is_safe() -> None:
    html = render_answer(
        "<b>x</b> [a](javascript:alert(1))\n\n```python\nprint('<script>')\n```\n",
        [{"language": "python", "source": "print('<script>')"}],
    )
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert 'href="javascript' not in html and "<script>" not in html
    assert 'data-testid="run" data-block="0"' in html


def test_cli_creates_users_and_studies(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        users_app,
        ["create", "--email", "r@example.org", "--role", "researcher"],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    args = ["create", "--name", "N", "--models", f"{unique('ok')},{unique('ok')}"]
    result = runner.invoke(study_app, [*args, "--mode", "blind", "--max-tasks", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] and "/join/" in data["invite_url"] and data["budget_tasks"] == 3
    result = runner.invoke(study_app, ["create", "--name", "N", "--models", "x", "--mode", "named"])
    assert result.exit_code == 2 and "2 to 8" in result.output
