"""Playwright: the answers of turn 1 and turn 2 are rated (and, named, upvoted) separately from
the page, and keep their own values after a reload; a blind later turn stays anonymous."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from codearena.store.platform_models import Rating, Vote
from tests.conftest import unique
from tests.web.conftest import LiveServer
from tests.web.test_browser import ARGS, CHROMIUM, _errors, _invite, _join
from tests.web.test_browser_follow_ups import TIMEOUT, _follow_up


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_turn_one_and_turn_two_are_rated_separately(
    live_server: LiveServer, chromium: Browser
) -> None:
    first, second = unique("ok"), unique("ok")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [first, second], "named"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=TIMEOUT)
    _follow_up(page, "Now handle floats.", 2)
    one = page.locator(f'[data-testid="answer"][data-turn="1"][data-model="{first}"]')
    two = page.locator(f'[data-testid="answer"][data-turn="2"][data-model="{first}"]')
    two.get_by_test_id("rating-correctness").select_option("2")
    two.get_by_test_id("rating-comment").fill("the second try")
    two.get_by_test_id("rating-save").click()
    expect(two.get_by_test_id("rating-status")).to_have_text("saved")
    expect(one.get_by_test_id("rating-status")).to_have_text("")  # turn 1 is not rated by it
    one.get_by_test_id("rating-correctness").select_option("5")
    one.get_by_test_id("rating-save").click()
    expect(one.get_by_test_id("rating-status")).to_have_text("saved")
    two.get_by_test_id("upvote").click()
    expect(two.get_by_test_id("upvote")).to_have_text("Upvoted")
    expect(one.get_by_test_id("upvote")).to_have_text("Upvote")
    page.reload()
    expect(one.get_by_test_id("rating-correctness")).to_have_value("5")
    expect(two.get_by_test_id("rating-correctness")).to_have_value("2")
    expect(two.get_by_test_id("rating-comment")).to_have_value("the second try")
    expect(one.get_by_test_id("rating-comment")).to_have_value("")
    expect(two.get_by_test_id("upvote")).to_have_text("Upvoted")
    expect(one.get_by_test_id("upvote")).to_have_text("Upvote")
    with live_server.context.store.session() as session:
        ratings = {r.turn: r.correctness for r in session.query(Rating)}
        upvotes = [(v.position, v.turn) for v in session.query(Vote)]
    assert ratings == {1: 5, 2: 2} and upvotes == [(0, 2)]
    assert errors == []


def test_a_blind_later_turn_is_rated_and_stays_anonymous(
    live_server: LiveServer, chromium: Browser
) -> None:
    a, b = unique("ok"), unique("ok")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [a, b], "blind"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b)")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=TIMEOUT)
    _follow_up(page, "Add type hints.", 2)
    later = page.locator('[data-testid="answer"][data-turn="2"][data-position="1"]')
    later.get_by_test_id("rating-quality").select_option("4")
    later.get_by_test_id("rating-save").click()
    expect(later.get_by_test_id("rating-status")).to_have_text("saved")
    expect(later.locator('[data-role="name"]')).to_have_text("Model B")
    html = page.content()
    for model in (a, b):
        assert model.split("/")[1] not in html
    page.reload()
    expect(later.get_by_test_id("rating-quality")).to_have_value("4")
    expect(
        page.locator('[data-testid="answer"][data-turn="1"][data-position="1"]').get_by_test_id(
            "rating-quality"
        )
    ).to_have_value("")
    for model in (a, b):
        assert model.split("/")[1] not in page.content()
    with live_server.context.store.session() as session:
        assert [(r.position, r.turn, r.quality) for r in session.query(Rating)] == [(1, 2, 4)]
    assert errors == []
