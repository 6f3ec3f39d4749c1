"""Submitted survey answers are locked; a failed submit highlights the questions themselves."""

from __future__ import annotations

from typing import Any

from codearena.store.platform_models import SurveyAnswer
from codearena.survey import STUDY_2025, Question
from tests.conftest import unique
from tests.web.conftest import Arena, Client


def _valid(q: Question) -> Any:
    if q.kind == "single":
        return q.options[0]
    if q.kind == "multi":
        return [q.options[0]]
    if q.kind in ("rating", "number"):
        return q.min
    return "fine"


async def _submitted(arena: Arena) -> Client:
    client = await arena.participant(arena.study([unique("ok"), unique("ok")]))
    for q in STUDY_2025.questions:
        if q.required:
            saved = await client.put(f"/api/survey/answers/{q.id}", {"value": _valid(q)})
            assert saved.status_code == 200, saved.text
    assert (await client.post("/api/survey/submit")).status_code == 200
    return client


def _answers(arena: Arena) -> dict[str, Any]:
    with arena.context.store.session() as session:
        return {a.question_id: a.value for a in session.query(SurveyAnswer).all()}


async def test_a_put_after_submit_is_refused_and_changes_nothing(arena: Arena) -> None:
    client = await _submitted(arena)
    before = _answers(arena)
    q = next(q for q in STUDY_2025.questions if q.kind == "single" and len(q.options) > 1)
    changed = await client.put(f"/api/survey/answers/{q.id}", {"value": q.options[1]})
    assert changed.status_code == 409
    assert "submitted" in changed.json()["error"] and "locked" in changed.json()["error"]
    cleared = await client.put(f"/api/survey/answers/{q.id}", {"value": None})
    assert cleared.status_code == 409
    added = await client.put("/api/survey/answers/q15", {"value": "a late thought"})
    assert added.status_code == 409
    assert _answers(arena) == before
    view = (await client.get("/api/survey")).json()
    assert view["completed"] is True and view["answers"] == before
    assert (await client.post("/api/survey/submit")).status_code == 200  # idempotent


async def test_the_survey_page_is_locked_after_submit(arena: Arena) -> None:
    client = await _submitted(arena)
    before = _answers(arena)
    page = await client.get("/survey")
    assert 'data-testid="survey-locked"' in page.text
    assert page.text.count(" disabled>") >= len(STUDY_2025.questions)
    q = STUDY_2025.questions[0]
    form = {"csrf_token": client.csrf, q.id: q.options[-1]}
    posted = await client.http.post("/survey", data=form)
    assert posted.status_code == 409 and "locked" in posted.text
    assert _answers(arena) == before


async def test_a_failed_submit_highlights_the_questions(arena: Arena) -> None:
    client = await arena.participant(arena.study([unique("ok"), unique("ok")]))
    first = STUDY_2025.questions[0]
    number = next(q for q in STUDY_2025.questions if q.kind == "rating")
    form = {"csrf_token": client.csrf, first.id: _valid(first), number.id: str(number.max + 100)}
    page = await client.http.post("/survey", data=form)
    assert page.status_code == 400
    assert f'data-testid="question-error-{number.id}"' in page.text
    assert f'data-testid="question-error-{first.id}"' not in page.text
    fieldset = page.text.split(f'data-testid="question-{number.id}"', 1)[0].rsplit("<fieldset", 1)[
        1
    ]
    assert "invalid" in fieldset
    # every field valid but required ones missing: each missing question is highlighted
    page = await client.http.post(
        "/survey", data={"csrf_token": client.csrf, first.id: _valid(first)}
    )
    assert page.status_code == 400
    missing = [q for q in STUDY_2025.questions if q.required and q.id != first.id]
    for q in missing:
        assert f'data-testid="question-error-{q.id}"' in page.text, q.id
    assert f'data-testid="question-error-{first.id}"' not in page.text
    optional = [q for q in STUDY_2025.questions if not q.required]
    for q in optional:
        assert f'data-testid="question-error-{q.id}"' not in page.text
