"""Playwright: fix it yourself from the task page. The editor (vendored CodeMirror, line numbers
and highlighting, no network) opens on a wrong answer, the edited code passes the task's tests
through the Run button's execution step, Done ends the attempt, and the stored row has the
measured figures. The server's clock is a fake that moves 7 s per event, so the active time is
asserted without sleeping or reading the wall clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from codearena.store.platform_models import Fix
from tests.conftest import unique
from tests.web.conftest import SCREENSHOTS, LiveServer
from tests.web.test_browser import ARGS, CHROMIUM, _errors, _invite, _join

TIMEOUT = 30_000
FIXED = "def add(a, b):\n    # plus, not minus\n    return a + b\n"
STEP_S = 7.0


class SteppingClock:
    """The server's clock: each reading is 7 s after the previous one."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=STEP_S)
        return self.now


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_a_wrong_answer_is_fixed_by_hand_and_measured(
    live_server: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    live_server.app.state.platform.clock = SteppingClock()
    wrong, right = unique("wrong-9"), unique("ok")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    page.on(  # a CSP violation is reported on the console
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)

    _join(page, _invite(live_server, [wrong, right], "named"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_text("Tests (optional)").click()
    page.get_by_test_id("tests-code").fill("assert add(1, 2) == 3")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=TIMEOUT)
    col = page.locator(f'[data-testid="answer"][data-turn="1"][data-model="{wrong}"]')

    col.get_by_test_id("fix-open").click()
    editor = col.get_by_test_id("fix-editor")
    expect(editor).to_be_visible()
    expect(editor.locator(".CodeMirror")).to_have_count(1)  # the vendored editor, not a fallback
    expect(editor.locator(".CodeMirror-linenumber").first).to_be_visible()
    assert editor.locator(".CodeMirror-linenumber").count() >= 2
    expect(editor.locator(".cm-keyword").first).to_have_text("def")  # highlighted as Python
    expect(editor.locator(".CodeMirror-code")).to_contain_text("return a - b")

    editor.locator(".CodeMirror-code").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(FIXED)
    expect(editor.locator(".CodeMirror-code")).to_contain_text("return a + b")
    col.get_by_test_id("fix-run").click()
    expect(col.get_by_test_id("fix-verdict")).to_have_text("passed", timeout=TIMEOUT)
    expect(col.get_by_test_id("fix-result")).to_contain_text("tests passed 1/1")
    col.get_by_test_id("fix-done").click()
    expect(col.get_by_test_id("fix-status")).to_contain_text("Fixed by hand: done")
    expect(col.get_by_test_id("fix-open")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "fix-done.png"), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "fix-done.png").write_bytes((tmp_path / "fix-done.png").read_bytes())

    with live_server.context.store.session() as session:
        (row,) = session.query(Fix).all()
        assert row.runs >= 1 and row.verdict == "passed" and row.outcome == "done"
        assert row.lines_added is not None and row.lines_removed is not None
        assert row.lines_added + row.lines_removed > 0
        assert row.final_code is not None and "return a + b" in row.final_code
        assert row.active_seconds > 0
        # every event was 7 s after the last one on the server's clock: whole steps only
        assert row.active_seconds % STEP_S == 0

    page.reload()  # the ended attempt is shown from the server, its button stays disabled
    col = page.locator(f'[data-testid="answer"][data-turn="1"][data-model="{wrong}"]')
    expect(col.get_by_test_id("fix-status")).to_contain_text("Fixed by hand: done")
    expect(col.get_by_test_id("fix-open")).to_be_disabled()
    assert all(url.startswith(live_server.url) for url in requests), "the page left the server"
    assert any("/static/vendor/codemirror/lib/codemirror.js" in url for url in requests)
    assert failed == [] and errors == []
