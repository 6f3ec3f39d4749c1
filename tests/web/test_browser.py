"""Playwright driving Debian's Chromium against a live server on the loopback fake upstream."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from codearena.studies.invites import invite_url, platform_secret
from codearena.studies.study import StudySpec, create_study
from codearena.web.auth import create_user
from tests.conftest import unique
from tests.web.conftest import PASSWORD, SCREENSHOTS, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "browser tests need Debian's Chromium at /usr/bin/chromium: "
            "apt-get install -y chromium chromium-driver (never `playwright install`)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for shot in folder.iterdir():
        shutil.copy(shot, SCREENSHOTS / shot.name)


def _invite(server: LiveServer, models: list[str], mode: str) -> str:
    spec = StudySpec(name=f"Browser study ({mode})", models=models, mode=mode)
    study = create_study(server.context.store, server.context.catalog, spec)
    return invite_url(platform_secret(server.context.store), study.id, server.url)


def _join(page: Page, invite: str, name: str) -> None:
    page.goto(invite)
    page.get_by_test_id("join-name").fill(name)
    page.get_by_test_id("join-submit").click()
    expect(page.get_by_test_id("consent-accept")).to_be_visible()
    page.get_by_test_id("consent-accept").click()
    expect(page.get_by_test_id("task-input")).to_be_visible()


def _errors(page: Page) -> list[str]:
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on("dialog", lambda dialog: found.append(f"dialog: {dialog.message}"))
    return found


def test_participant_named_and_blind_tasks_then_survey(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    fast, slow, broken = unique("ok"), unique("slow-0.25"), unique("error-502")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [fast, slow, broken], "named"), "ada")
    page.screenshot(path=shots / "1-study-page.png", full_page=True)
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    for model in (fast, slow, broken):
        page.locator(f'[data-testid="model-option"][data-model="{model}"]').check()
    page.get_by_text("Tests (optional)").click()
    page.get_by_test_id("tests-code").fill("assert add(1, 2) == 3")
    page.get_by_test_id("generate").click()

    columns = page.get_by_test_id("answer")
    expect(columns).to_have_count(3)
    fast_col = page.locator(f'[data-testid="answer"][data-model="{fast}"]')
    slow_col = page.locator(f'[data-testid="answer"][data-model="{slow}"]')
    broken_col = page.locator(f'[data-testid="answer"][data-model="{broken}"]')
    # The fast model's answer is complete while the slow one is still streaming its first tokens.
    expect(fast_col.locator('[data-role="status"]')).to_have_text("ok")
    expect(slow_col.locator("pre.streaming")).not_to_be_empty()
    expect(slow_col.locator('[data-role="status"]')).to_have_text("streaming")
    page.screenshot(path=shots / "2-named-streaming.png", full_page=True)
    expect(broken_col.locator('[data-role="error"]')).to_contain_text("502")
    expect(slow_col.locator('[data-role="status"]')).to_have_text("ok", timeout=20_000)
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.")

    fast_col.get_by_test_id("run").first.click()
    expect(fast_col.get_by_test_id("verdict")).to_have_text("passed", timeout=30_000)
    expect(fast_col.get_by_test_id("run-result")).to_contain_text("tests passed 1/1")
    fast_col.get_by_test_id("rating-correctness").select_option("5")
    fast_col.get_by_test_id("rating-quality").select_option("4")
    fast_col.get_by_test_id("rating-usefulness").select_option("4")
    fast_col.get_by_test_id("rating-minutes").fill("3")
    fast_col.get_by_test_id("rating-save").click()
    expect(fast_col.get_by_test_id("rating-status")).to_have_text("saved")
    page.screenshot(path=shots / "3-named-done.png", full_page=True)

    # A blind study: two models drawn, no names in the page before the vote.
    a, b = unique("ok"), unique("slow-0.01")
    _join(page, _invite(live_server, [a, b], "blind"), "ada")
    page.get_by_test_id("task-input").fill("Write add(a, b)")
    expect(page.get_by_test_id("model-option")).to_have_count(0)
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("answer")).to_have_count(2)
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=20_000)
    html = page.content()
    for model in (a, b):
        assert model.split("/")[1] not in html
    assert page.get_by_test_id("answer").first.get_attribute("data-model") is None
    page.screenshot(path=shots / "4-blind-before-vote.png", full_page=True)
    expect(page.get_by_test_id("self-identified-notice")).to_be_hidden()
    page.keyboard.press("b")
    expect(page.get_by_test_id("vote-status")).to_contain_text("Your vote: B is better.")
    names = page.locator('[data-role="name"]').all_text_contents()
    assert sorted(names) == sorted(m.split(":", 1)[1] for m in (a, b))
    page.screenshot(path=shots / "5-blind-revealed.png", full_page=True)

    page.goto(f"{live_server.url}/survey")
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("survey-errors")).to_contain_text("q1")
    expect(page.get_by_test_id("question-error-q1")).to_have_text("this question is required")
    expect(page.get_by_test_id("question-q1")).to_have_class(re.compile(r"\binvalid\b"))
    for qid, label in [
        ("q1", "2 - 5"),
        ("q2", "Master's degree"),
        ("q3", "Germany"),
        ("q4", "E-commerce"),
        ("q5", "Developer"),
        ("q6", "Python"),
        ("q7", "5 to 10"),
        ("q8", "Easy"),
        ("q9", "Yes"),
        ("q10", "Python"),
        ("q11", "1-5"),
        ("q12", "GPT 4o"),
        ("q13", "4"),
    ]:
        page.get_by_test_id(f"question-{qid}").get_by_label(label, exact=True).check()
        expect(page.get_by_test_id(f"question-{qid}").locator('[data-role="saved"]')).to_have_text(
            "saved"
        )
    page.screenshot(path=shots / "6-survey.png", full_page=True)
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("thanks")).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text("Blind votes: 1")
    page.screenshot(path=shots / "7-thanks.png", full_page=True)
    page.goto(f"{live_server.url}/survey")
    expect(page.get_by_test_id("survey-locked")).to_be_visible()
    expect(page.get_by_test_id("survey-submit")).to_be_disabled()
    assert errors == []


def test_blind_page_warns_when_an_answer_names_a_model(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _errors(page)
    _join(page, _invite(live_server, [unique("ok"), unique("slow-0.01")], "blind"), "bea")
    page.get_by_test_id("task-input").fill("ECHO: As Claude, made by Anthropic, I suggest:")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=20_000)
    expect(page.get_by_test_id("self-identified-notice")).to_be_visible()
    expect(page.get_by_test_id("self-identified-notice")).to_contain_text("excluded")
    page.screenshot(path=shots / "4b-blind-self-identified.png", full_page=True)
    page.keyboard.press("x")
    status = page.get_by_test_id("vote-status")
    expect(status).to_contain_text("Your vote: Both are bad.")
    expect(status).to_contain_text("excluded from the analysis")
    assert "bothbad" not in (status.text_content() or "")
    assert "both_bad" not in (status.text_content() or "")
    page.reload()
    expect(page.get_by_test_id("vote-status")).to_have_text("Your vote: Both are bad")
    expect(page.get_by_test_id("self-identified-notice")).to_be_visible()
    assert errors == []


def test_hostile_reply_executes_nothing(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 900})  # a phone: columns stack
    errors = _errors(page)
    _join(page, _invite(live_server, [unique("ok"), unique("ok")], "named"), "eve")
    payload = (
        "ECHO: <script>window.__pwned = 1; alert(1)</script>"
        ' <img src=x onerror="window.__pwned = 2; alert(2)">'
        " [click](javascript:alert(3))"
    )
    page.get_by_test_id("task-input").fill(payload)
    page.get_by_test_id("model-option").nth(0).check()
    page.get_by_test_id("model-option").nth(1).check()
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.")
    body = page.get_by_test_id("answer").first.locator('[data-role="body"]')
    expect(body).to_contain_text("<script>window.__pwned = 1")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator(".answer-body script, .answer-body img").count() == 0
    assert page.locator('.answer-body a[href^="javascript"]').count() == 0
    boxes = [page.get_by_test_id("answer").nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and boxes[1]["y"] > boxes[0]["y"], "columns stack on a phone"
    page.screenshot(path=shots / "8-hostile-phone.png", full_page=True)
    assert errors == []


def test_researcher_signs_in_and_creates_a_study(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    create_user(live_server.context.store, "lead@example.org", "researcher", PASSWORD)
    page = browser.new_page()
    page.goto(f"{live_server.url}/researcher")
    page.get_by_test_id("login-email").fill("lead@example.org")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("study-name").fill("Team comparison")
    page.get_by_test_id("study-models").fill(f"{unique('ok')}\n{unique('ok')}")
    page.get_by_test_id("study-create").click()
    expect(page.get_by_test_id("invite-url")).to_have_value(__import__("re").compile(r"/join/"))
    page.screenshot(path=shots / "9-researcher-study.png", full_page=True)


def test_dashboard_shows_warnings_and_too_small_intervals(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    """The researcher's dashboard of a study with a pair of models that only met each other and
    too few ratings for intervals: the warnings and "n too small" are on the page."""
    from sqlalchemy import select

    from codearena.analysis import import_votes
    from codearena.store.platform_models import WebUser
    from tests.analysis.data import make_study

    store = live_server.context.store
    email = f"dash-{unique('x')[-8:]}@example.org"
    create_user(store, email, "researcher", PASSWORD)
    with store.session() as session:
        owner = session.scalars(select(WebUser).where(WebUser.email == email)).one().id
    study_id = make_study(store, owner_id=owner)
    import_votes(store, study_id, "model_a,model_b,winner\nx/one,x/two,a\n", "x.csv")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = _errors(page)
    page.goto(f"{live_server.url}/researcher")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("study-name")).to_be_visible()
    page.goto(f"{live_server.url}/researcher/studies/{study_id}/dashboard?rounds=100")
    warnings = page.get_by_test_id("leaderboard-warnings")
    expect(warnings).to_contain_text(
        "x/one won its one battle against x/two, so its rating has no finite estimate: its "
        "interval is unbounded on both sides."
    )
    expect(warnings).to_contain_text("x/two is in group 2 of 2 (x/one and x/two)")
    expect(page.get_by_test_id("leaderboard")).to_contain_text("-∞ to ∞")
    expect(page.get_by_test_id("ratings")).to_contain_text("n too small (n=3 < 5)")
    expect(page.get_by_test_id("objective")).to_contain_text("n too small (n=3 < 5)")
    expect(page.get_by_test_id("spend")).to_contain_text("0.1500 USD of 2.000 USD")
    expect(page.get_by_test_id("open-high").first).to_be_attached()
    page.screenshot(path=shots / "10-dashboard-warnings.png", full_page=True)
    assert errors == []


def test_api_docs_render_offline(live_server: LiveServer, browser: Browser) -> None:
    page = browser.new_page()
    errors = _errors(page)
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/healthz")).to_be_visible()
    assert console == []
    page.goto(f"{live_server.url}/redoc")
    expect(page.get_by_role("heading", name="Healthz")).to_be_visible()
    page.close()
    # ReDoc's "powered by" logo points at its CDN; the CSP blocks it and nothing else is missing
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in text for text in console), console
    assert outside == [] and errors == []


PLOTTING_ANSWER = """ECHO: ```python
import struct, zlib
def png(w, h):
    raw = b"".join(b"\\x00" + b"\\x00\\x80\\xff" * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("b_plot.png", "wb").write(png(30, 20))
svg = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>top.__pwned = 1</script><rect width="40" height="40" fill="red"/></svg>'
open("a_fig.svg", "w").write(svg)
open("c_fake.png", "w").write("<b>not a png</b>")
print("saved")
```"""


def test_a_run_shows_the_images_it_wrote_and_none_of_their_scripts_run(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = _errors(page)
    _join(page, _invite(live_server, [unique("ok"), unique("ok")], "named"), "grace")
    page.get_by_test_id("task-input").fill(PLOTTING_ANSWER)
    page.get_by_test_id("model-option").first.check()
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.")
    page.get_by_test_id("run").first.click()
    expect(page.get_by_test_id("verdict")).to_have_text("ran", timeout=30_000)
    images = page.get_by_test_id("run-artifact")
    expect(images).to_have_count(2)
    assert [images.nth(i).get_attribute("alt") for i in range(2)] == ["a_fig.svg", "b_plot.png"]
    for i in range(2):  # decoded under the task page's CSP (img-src data:)
        images.nth(i).evaluate("img => img.decode()")
    sizes = [
        images.nth(i).evaluate("img => [img.naturalWidth, img.naturalHeight]") for i in range(2)
    ]
    assert sizes == [[40, 40], [30, 20]]
    expect(page.get_by_test_id("run-artifact-dropped")).to_contain_text(
        "c_fake.png (16 bytes) not kept: its content is not a PNG image"
    )
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.screenshot(path=shots / "10-run-artifacts.png", full_page=True)
    assert errors == []
