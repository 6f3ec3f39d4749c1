"""One translation of domain errors to HTTP, and one parser per action: the form and the JSON
API give the same result and the same message for the same input."""

from __future__ import annotations

import html

import pytest

from codearena.coding.errors import CodingConflict, CodingError, CodingNotFound
from codearena.errors import CodearenaError
from codearena.store.platform_models import Participant, StudyTask
from codearena.studies.errors import (
    Busy,
    Conflict,
    NotAllowed,
    RunUnavailable,
    StudyError,
    UnknownItem,
)
from codearena.testspecs import EXAMPLES_FORMAT
from codearena.web.errors import ApiError, translate
from tests.conftest import unique
from tests.web.conftest import Arena


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (StudyError("x"), 400),
        (UnknownItem("x"), 404),
        (NotAllowed("x"), 403),
        (Conflict("x"), 409),
        (Busy("x"), 429),
        (RunUnavailable("x"), 503),
        (CodingError("x"), 400),
        (CodingNotFound("x"), 404),
        (CodingConflict("x"), 409),
        (ApiError(418, "x"), 418),
    ],
)
def test_each_domain_error_has_one_status(error: ApiError | CodearenaError, status: int) -> None:
    translated = translate(error)  # type: ignore[arg-type]
    assert (translated.status, translated.message) == (status, "x")


def _count(arena: Arena, model: type) -> int:
    with arena.context.store.session() as session:
        return session.query(model).count()


def _page_error(text: str) -> str:
    return html.unescape(text)


@pytest.mark.parametrize(
    ("form", "body", "status", "message"),
    [
        (  # the examples' text, parsed by the one input model
            {"tests_kind": "io", "tests_examples": "1 2\n3\n"},
            {"tests": {"kind": "io", "examples": "1 2\n3\n"}},
            422,
            EXAMPLES_FORMAT,
        ),
        ({"tone": "angry"}, {"tone": "angry"}, 400, "invalid tone 'angry'"),
        ({"text": "   "}, {"text": "   "}, 400, "task is empty"),
    ],
)
async def test_a_bad_task_gets_the_same_answer_by_either_door(
    arena: Arena, form: dict[str, str], body: dict[str, object], status: int, message: str
) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    api = await client.post("/api/tasks", {"text": "t", "models": [a, b], **body})
    fields = {"csrf_token": client.csrf, "text": "t", "models": [a, b], **form}
    page = await client.http.post("/study/tasks", data=fields)
    assert (api.status_code, page.status_code) == (status, status), api.text
    error = api.json()["error"]
    assert message in error and error in _page_error(page.text)
    assert _count(arena, StudyTask) == 0


async def test_examples_text_works_by_either_door(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    examples = "1 2\n=>\n3\n"
    api = await client.post(
        "/api/tasks",
        {"text": "t", "models": [a, b], "tests": {"kind": "io", "examples": examples}},
    )
    assert api.status_code == 202, api.text
    fields = {
        "csrf_token": client.csrf,
        "text": "t",
        "models": [a, b],
        "tests_kind": "io",
        "tests_examples": examples,
    }
    page = await client.http.post("/study/tasks", data=fields)
    assert page.status_code == 303
    with arena.context.store.session() as session:
        stored = [row.tests for row in session.query(StudyTask)]
    assert stored[0] == stored[1] == {"kind": "io", "code": "", "examples": [["1 2\n", "3\n"]]}


async def test_a_long_pseudonym_gets_the_same_answer_by_either_door(arena: Arena) -> None:
    token = arena.token(arena.study([unique("ok"), unique("ok")]))
    client = await arena.client()
    api = await client.post(f"/api/join/{token}", {"pseudonym": "x" * 101})
    page = await client.http.post(
        f"/join/{token}", data={"csrf_token": client.csrf, "pseudonym": "x" * 101}
    )
    assert (api.status_code, page.status_code) == (400, 400)
    assert api.json()["error"] in _page_error(page.text)
    assert _count(arena, Participant) == 0


async def test_a_bad_study_form_gets_the_apis_message(arena: Arena) -> None:
    client = await arena.staff()
    body = {"name": "s", "models": [unique("ok")], "budget_tasks": "many"}
    api = await client.post("/api/studies", body)
    form = {"csrf_token": client.csrf, "name": "s", "models": body["models"][0]}
    form["budget_tasks"] = "many"
    page = await client.http.post("/researcher/studies", data=form)
    assert (api.status_code, page.status_code) == (422, 422)
    assert api.json()["error"] in _page_error(page.text)
    one = await client.post("/api/studies", {"name": "s", "models": [unique("ok")]})
    page = await client.http.post(
        "/researcher/studies", data={"csrf_token": client.csrf, "name": "s", "models": "m"}
    )
    assert (one.status_code, page.status_code) == (400, 400)
    assert "got 1" in one.json()["error"] and "got 1" in _page_error(page.text)
