"""The preview document of an answer that is a web page, its route and its headers (in process;
the browser's side is test_browser_preview.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from codearena.answers import CodeBlock
from codearena.web.preview import PREVIEW_CSP, has_preview, preview_document
from codearena.web.render import render_answer
from tests.conftest import unique
from tests.web.conftest import Arena
from tests.web.test_follow_ups import _round

PAGE = "ECHO:Here.\n\n```html\n<p id='x'>hi</p>\n```\n\n```css\np { color: red; }\n```\n"


def _elements(document: str) -> list[str]:
    """The start tags as an HTML parser sees them (style and script are raw text)."""
    seen: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            seen.append(tag)

    Tags().feed(document)
    return seen


def test_the_document_puts_the_policy_first_and_the_blocks_in_their_elements() -> None:
    blocks = [
        CodeBlock("python", "print(1)"),
        CodeBlock("html", "<!DOCTYPE html><html><head></head><body><p>page</p></body></html>"),
        CodeBlock("css", "p { color: red; } /* </style><script>x()</script> */"),
        CodeBlock("javascript", "document.title = '</script><b>';"),
        CodeBlock("js", "console.log(2);"),
    ]
    document = preview_document(blocks)
    head = document.split("<head>", 1)[1]
    assert head.startswith('<meta http-equiv="Content-Security-Policy" content="default-src')
    assert "default-src &#x27;none&#x27;" in head and "connect-src &#x27;none&#x27;" in head
    assert _elements(document) == [
        "html",
        "head",
        "meta",
        "meta",
        "meta",
        "title",
        "style",
        "body",
        "html",
        "head",
        "body",
        "p",
        "script",
    ]
    assert "<\\/script><b>" in document and "<\\/style>" in document
    assert "console.log(2);" in document and "print(1)" not in document
    assert "'unsafe-eval'" not in PREVIEW_CSP and "'self'" not in PREVIEW_CSP


def test_only_an_answer_with_an_html_block_is_a_page() -> None:
    assert not has_preview([{"language": "javascript", "source": "alert(1)"}])
    assert not has_preview([])
    assert has_preview([{"language": "HTML", "source": "<p>x</p>"}])
    assert has_preview([{"language": None, "source": "<!doctype html><p>x</p>"}])
    with pytest.raises(LookupError):
        preview_document([CodeBlock("css", "p {}")])
    # the task page shows the button, never the page: the markup stays escaped text
    html = render_answer(
        "```html\n<b id='bold'>x</b>\n```", [{"language": "html", "source": "<b id='bold'>x</b>"}]
    )
    assert 'data-testid="preview-open"' in html and "<b id=" not in html
    assert 'data-testid="preview-open"' not in render_answer(
        "```js\nx()\n```", [{"language": "js", "source": "x()"}]
    )


async def test_the_preview_route_serves_the_own_answer_sandboxed(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    study = arena.study([a, b], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": PAGE})).json()["id"]
    view = await arena.finish(client, task_id)
    assert all('data-testid="preview-open"' in x["html"] for x in view["answers"])
    response = await client.get(f"/preview/tasks/{task_id}/answers/1")
    assert response.status_code == 200
    assert "<p id='x'>hi</p>" in response.text and "p { color: red; }" in response.text
    policy = response.headers["content-security-policy"]
    assert policy.startswith(PREVIEW_CSP) and "sandbox allow-scripts;" in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "no-referrer"
    for model in (a, b):  # blind: the preview names no model
        assert model.split(":")[1] not in response.text + str(response.headers)
    page = await client.get(f"/tasks/{task_id}")
    assert page.headers["content-security-policy"].endswith(
        "frame-ancestors 'none'; frame-src http://testserver/preview/"
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert (await client.get(f"/preview/tasks/{task_id}/answers/1?turn=2")).status_code == 404
    other = await arena.participant(study)
    assert (await other.get(f"/preview/tasks/{task_id}/answers/1")).status_code == 404


async def test_an_answer_without_html_has_no_preview(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    task = await client.post("/api/tasks", {"text": "Write add(a, b)", "models": [a, b]})
    task_id = task.json()["id"]
    view = await arena.finish(client, task_id)
    assert all('data-testid="preview-open"' not in x["html"] for x in view["answers"])
    response = await client.get(f"/preview/tasks/{task_id}/answers/0")
    assert response.status_code == 404
    assert "no HTML block" in response.text
    assert "sandbox" not in response.headers["content-security-policy"]


async def test_a_later_turns_page_previews_by_its_turn(arena: Arena) -> None:
    a, b = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([a, b]))
    task = await client.post("/api/tasks", {"text": PAGE, "models": [a, b]})
    task_id = task.json()["id"]
    await arena.finish(client, task_id)
    again = "ECHO:```html\n<p id='y'>turn two</p>\n```\n"
    assert (await client.post(f"/api/tasks/{task_id}/follow-up", {"text": again})).is_success
    view = await _round(arena, client, task_id, 2)
    assert all('data-testid="preview-open"' in x["html"] for x in view["turns"][0]["answers"])
    first = await client.get(f"/preview/tasks/{task_id}/answers/0")
    second = await client.get(f"/preview/tasks/{task_id}/answers/0?turn=2")
    assert "<p id='x'>hi</p>" in first.text and "turn two" not in first.text
    assert "<p id='y'>turn two</p>" in second.text and "<p id='x'>" not in second.text
