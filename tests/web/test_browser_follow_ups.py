"""Playwright: follow-ups (named and blind), the turn limit and a repair round from the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from codearena.conversations import MAX_TURNS
from codearena.store.models import Generation
from codearena.testing.fake_upstream import FakeUpstream
from tests.conftest import unique
from tests.web.conftest import LiveServer
from tests.web.test_browser import ARGS, CHROMIUM, _errors, _invite, _join


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


TIMEOUT = 20_000


def _follow_up(page: Page, text: str, turn: int, count: int = 2) -> None:
    page.get_by_test_id("follow-up-input").fill(text)
    page.get_by_test_id("follow-up-send").click()
    answers = page.locator(f'[data-testid="answer"][data-turn="{turn}"]')
    expect(answers).to_have_count(count, timeout=TIMEOUT)
    for i in range(count):
        expect(answers.nth(i).locator('[data-role="status"]')).to_have_text("ok", timeout=TIMEOUT)


def _own_answers_were_sent(server: LiveServer, fake: FakeUpstream, text: str) -> None:
    with server.context.store.session() as session:
        earlier = {g.model: g.text for g in session.query(Generation).filter(Generation.turn == 1)}
    for model, answer in earlier.items():
        name = model.removeprefix("openrouter:")
        sent = [
            r.body["messages"]
            for r in fake.requests
            if r.body and r.body.get("model") == name and len(r.body["messages"]) > 2
        ]
        assert sent, model
        assert sent[0][-2]["content"] == answer and sent[0][-1]["content"] == text


def test_named_follow_ups_up_to_the_turn_limit(
    live_server: LiveServer,
    chromium: Browser,
    fake: FakeUpstream,
) -> None:
    first, second = unique("ok"), unique("ok")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [first, second], "named"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=TIMEOUT)
    expect(page.locator('[data-testid="answer"][data-turn="1"]')).to_have_count(2)
    _follow_up(page, "Now handle floats.", 2)
    _own_answers_were_sent(live_server, fake, "Now handle floats.")
    second_turn = page.locator('[data-testid="answer"][data-turn="2"]')
    expect(second_turn.first.get_by_test_id("turn-prompt")).to_contain_text("Now handle floats.")
    second_turn.first.get_by_test_id("run").first.click()
    expect(second_turn.first.get_by_test_id("verdict")).to_have_text("ran", timeout=30_000)
    for turn in range(3, MAX_TURNS + 1):
        _follow_up(page, f"Turn {turn}, please.", turn)
    page.get_by_test_id("follow-up-input").fill("One more.")
    page.get_by_test_id("follow-up-send").click()
    expect(page.get_by_test_id("follow-up-error")).to_contain_text("reached its 5 turns")
    assert errors == []


def test_blind_follow_up_stays_anonymous_then_the_vote_reveals(
    live_server: LiveServer,
    chromium: Browser,
    fake: FakeUpstream,
) -> None:
    a, b = unique("ok"), unique("ok")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [a, b], "blind"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b)")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=TIMEOUT)
    _follow_up(page, "Add type hints.", 2)
    _own_answers_were_sent(live_server, fake, "Add type hints.")
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=TIMEOUT)
    html = page.content()
    for model in (a, b):
        assert model.split("/")[1] not in html
    page.get_by_test_id("vote-tie").click()
    expect(page.get_by_test_id("vote-status")).to_contain_text("Your vote: Tie.")
    page.reload()
    names = page.locator('[data-testid="answer"][data-turn="2"] [data-role="name"]')
    assert sorted(names.all_text_contents()) == sorted(m.split(":", 1)[1] for m in (a, b))
    assert errors == []


def test_a_failed_run_is_sent_back_and_the_repair_passes(
    live_server: LiveServer,
    chromium: Browser,
) -> None:
    right, wrong = unique("ok"), unique("wrong-1")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [right, wrong], "named"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_text("Tests (optional)").click()
    page.get_by_test_id("tests-code").fill("assert add(1, 2) == 3")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=TIMEOUT)
    col = page.locator(f'[data-testid="answer"][data-turn="1"][data-model="{wrong}"]')
    expect(col.get_by_test_id("send-error")).to_be_hidden()
    col.get_by_test_id("run").first.click()
    expect(col.get_by_test_id("verdict")).not_to_have_text("passed", timeout=30_000)
    expect(col.get_by_test_id("verdict")).not_to_have_text("", timeout=30_000)
    col.get_by_test_id("send-error").click()
    repaired = page.locator('[data-testid="answer"][data-turn="2"]')
    expect(repaired).to_have_count(1, timeout=TIMEOUT)
    expect(repaired.locator('[data-role="status"]')).to_have_text("ok", timeout=TIMEOUT)
    expect(repaired.get_by_test_id("turn-prompt")).to_contain_text("did not pass the tests")
    repaired.get_by_test_id("run").first.click()
    expect(repaired.get_by_test_id("verdict")).to_have_text("passed", timeout=30_000)
    assert errors == []
