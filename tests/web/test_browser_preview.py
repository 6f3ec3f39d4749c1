"""Playwright: an answer that is a web page previews in a sandboxed frame that cannot reach the
platform (no cookies, no parent, no API, no popups, forms or top-level navigation), and the
server never sees a request from it; elsewhere the answer stays escaped text."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright
from starlette.types import ASGIApp, Receive, Scope, Send

from codearena.pipeline import Context
from codearena.web.app import create_app
from codearena.web.limits import PlatformLimits
from tests.conftest import unique
from tests.web.conftest import LiveServer, free_port
from tests.web.test_browser import ARGS, CHROMIUM, _errors, _invite, _join

TIMEOUT = 20_000
PAGE = """<!DOCTYPE html>
<html><head><title>Attempts</title></head><body>
<h1 id="title">Preview page</h1>
<ul id="out"></ul>
<form id="form" action="/api/session" method="get"><input name="from" value="preview-form"></form>
</body></html>"""
SCRIPT = """const out = document.getElementById("out");
function note(name, value) {
  const item = document.createElement("li");
  item.id = name; item.textContent = value; out.appendChild(item);
}
function attempt(name, action) {
  try { note(name, "got:" + String(action())); } catch (error) { note(name, "blocked"); }
}
note("script", "ran");
note("origin", String(self.origin));
attempt("cookie", () => document.cookie.length);
attempt("parent", () => parent.document.title);
attempt("open", () => { const w = window.open("/api/session?from=preview-open"); if (!w) throw 0; return "window"; });
attempt("top", () => { top.location = "/api/session?from=preview-top"; return top.location.href; });
fetch("/api/session?from=preview-fetch", { credentials: "include" }).then(
  (r) => note("fetch", "got:" + r.status), () => note("fetch", "blocked"));
const image = new Image();
image.onload = () => note("image", "got"); image.onerror = () => note("image", "blocked");
image.src = "/api/session?from=preview-image";
attempt("submit", () => { document.getElementById("form").submit(); return "sent"; });"""
STYLE = "h1 { color: rgb(0, 128, 0); }"
ANSWER = f"ECHO:A page.\n\n```html\n{PAGE}\n```\n\n```css\n{STYLE}\n```\n\n```javascript\n{SCRIPT}\n```\n"


@dataclass
class Recorder:
    """Every HTTP request the platform receives: (path, query string)."""

    app: ASGIApp
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["path"], scope.get("query_string", b"").decode()))
        await self.app(scope, receive, send)


@pytest.fixture
def recorded(context: Context) -> Iterator[tuple[LiveServer, Recorder]]:
    app = create_app(context, limits=PlatformLimits(tasks_per_minute=1000, running_tasks=50))
    recorder = Recorder(app)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the web server did not start")
    yield LiveServer(f"http://127.0.0.1:{port}", context, app), recorder
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_a_web_page_answer_previews_sandboxed_and_cannot_reach_the_platform(
    recorded: tuple[LiveServer, Recorder], chromium: Browser
) -> None:
    server, recorder = recorded
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(server, [unique("ok"), unique("ok")], "named"), "ada")
    page.get_by_test_id("task-input").fill(ANSWER)
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=TIMEOUT)
    task_url = page.url
    col = page.locator('[data-testid="answer"][data-turn="1"]').first
    # not rendered until asked; the answer's markup is text in the platform's page
    expect(page.get_by_test_id("preview")).to_have_count(0)
    expect(col.locator("code").first).to_contain_text('<h1 id="title">Preview page</h1>')
    expect(page.locator("#title")).to_have_count(0)
    col.get_by_test_id("preview-open").click()
    frame_element = col.get_by_test_id("preview")
    expect(frame_element).to_have_attribute("sandbox", "allow-scripts")
    frame = col.frame_locator('[data-testid="preview"]')
    expect(frame.locator("#title")).to_have_text("Preview page", timeout=TIMEOUT)
    expect(frame.locator("#title")).to_have_css("color", "rgb(0, 128, 0)")  # its own CSS
    expect(frame.locator("#script")).to_have_text("ran")
    expect(frame.locator("#origin")).to_have_text("null")  # opaque: not the platform's origin
    for name in ("cookie", "parent", "open", "top"):
        expect(frame.locator(f"#{name}")).to_have_text("blocked")
    expect(frame.locator("#fetch")).to_have_text("blocked", timeout=TIMEOUT)
    expect(frame.locator("#image")).to_have_text("blocked", timeout=TIMEOUT)
    # submit() itself does not throw: the sandbox drops the submission, the page stays
    expect(frame.locator("#submit")).to_have_text("got:sent")
    expect(frame.locator("#title")).to_have_text("Preview page")
    # a preview navigating itself to the API is refused by the task page's frame-src
    handle = frame_element.element_handle()
    content = handle.content_frame() if handle else None
    assert content is not None
    content.evaluate("() => { location.href = '/api/session?from=preview-navigation'; }")
    page.wait_for_timeout(500)  # let a navigation that should not happen start (not asserted)
    assert page.url == task_url and len(page.context.pages) == 1  # no top navigation, no popup
    seen = list(recorder.seen)
    assert any(path.startswith("/preview/tasks/") for path, _ in seen)  # the recorder records
    assert [(p, q) for p, q in seen if "preview-" in q] == []  # nothing from it reached the API
    response = page.request.get(
        server.url + next(p for p, _ in seen if p.startswith("/preview/tasks/"))
    )
    policy = response.headers["content-security-policy"]
    assert "sandbox allow-scripts" in policy and "connect-src 'none'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    own = page.request.get(task_url).headers["content-security-policy"]
    assert "script-src 'self';" in own and "unsafe-inline" not in own
    assert own.endswith(f"frame-src {server.url}/preview/")
    assert [e for e in errors if "dialog" in e] == []
