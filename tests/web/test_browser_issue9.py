"""Playwright (Debian's Chromium): the coding workbench codes without reloading the page, and a
browser that opens its invite again goes on as the same participant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select

from codearena import coding
from codearena.store.platform_models import Participant, WebUser
from codearena.studies.invites import invite_url, platform_secret
from codearena.studies.study import StudySpec, create_study
from codearena.web.auth import create_user
from tests.coding.seed import add_answer, add_comment, make_study
from tests.conftest import unique
from tests.web.conftest import PASSWORD, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's Chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _sign_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("study-name")).to_be_visible()


def test_workbench_codes_an_answer_without_reloading(
    live_server: LiveServer, browser: Browser
) -> None:
    store = live_server.context.store
    create_user(store, "coder@example.org", "researcher", PASSWORD)
    with store.session() as session:
        owner = session.scalars(select(WebUser).where(WebUser.email == "coder@example.org")).one()
    study = make_study(store, owner_id=owner.id)
    answer = add_answer(store, study, "q14", "the answers were fast")
    add_comment(store, study, "good naming")
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    _sign_in(page, live_server, "coder@example.org")
    page.goto(f"{live_server.url}/researcher/studies/{study}/coding")
    card = page.locator(f'[data-answer="survey:{answer}"]')
    expect(card.get_by_test_id("answer-question")).to_contain_text("Question:")
    comment = page.locator('[data-answer^="comment:"]')
    expect(comment.get_by_test_id("answer-model")).to_contain_text("openai/gpt-4")
    expect(comment.get_by_test_id("answer-task")).to_contain_text("p")
    page.evaluate("window.__stillHere = true")
    hostile = "<img src=x onerror=alert(1)>"
    card.get_by_test_id("answer-code-input").fill(f"speed, {hostile}")
    card.get_by_test_id("answer-code-add").click()
    expect(card.get_by_test_id("answer-code")).to_have_count(2)
    expect(card.get_by_test_id("answer-status")).to_contain_text("saved")
    expect(card.get_by_test_id("answer-code").filter(has_text=hostile)).to_have_count(1)
    assert card.locator("img").count() == 0
    assert page.evaluate("window.__stillHere") is True  # no reload
    names = sorted(r.name for r in coding.answer_codes(store, study, "survey", answer))
    assert names == sorted(["speed", hostile])
    card.get_by_role("button", name="remove speed").click()
    expect(card.get_by_test_id("answer-code")).to_have_count(1)
    assert page.evaluate("window.__stillHere") is True
    assert [r.name for r in coding.answer_codes(store, study, "survey", answer)] == [hostile]
    assert problems == []


def test_reopening_the_invite_in_the_browser_continues(
    live_server: LiveServer, browser: Browser
) -> None:
    store = live_server.context.store
    spec = StudySpec(name="Once", models=[unique("ok"), unique("ok")])
    study = create_study(store, live_server.context.catalog, spec)
    link = invite_url(platform_secret(store), study.id, live_server.url)
    page = browser.new_context().new_page()
    page.goto(link)
    page.get_by_test_id("join-name").fill("ann")
    page.get_by_test_id("join-submit").click()
    page.get_by_test_id("consent-accept").click()
    expect(page.get_by_test_id("task-input")).to_be_visible()
    page.goto(link)
    expect(page.get_by_test_id("task-input")).to_be_visible()
    with store.session() as session:
        query = select(func.count()).select_from(Participant)
        assert session.scalar(query.where(Participant.study_id == study.id)) == 1
    # a signed-in researcher is warned before joining signs them out
    create_user(store, "lead9@example.org", "researcher", PASSWORD)
    lead = browser.new_context().new_page()
    _sign_in(lead, live_server, "lead9@example.org")
    lead.goto(link)
    expect(lead.get_by_test_id("signout-notice")).to_be_visible()
    lead.get_by_test_id("signout-back").click()
    expect(lead.get_by_test_id("study-name")).to_be_visible()
