"""The participant's pages (issue 9): the reveal keeps runs, ratings and comments; named mode
ticks the study's models; Generate is disabled once the budget is used; retries, waiting and
streaming are told apart; elapsed times come from the server and survive a reload."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from codearena.gateway import CallResult, GatewayEvent
from codearena.studies.invites import invite_url, platform_secret
from codearena.studies.study import StudySpec, create_study
from codearena.web.streams import BLIND_RETRY_REASON, AnswerState, LiveTask
from tests.conftest import unique
from tests.web.conftest import Arena, LiveServer
from tests.web.test_browser import _errors, _join, browser, shots  # noqa: F401

ELAPSED = re.compile(r"^\d+\.\d s$")


def _study(server: LiveServer, models: list[str], mode: str, **fields: Any) -> str:
    spec = StudySpec(name=f"Participant page ({mode})", models=models, mode=mode, **fields)
    study = create_study(server.context.store, server.context.catalog, spec)
    return invite_url(platform_secret(server.context.store), study.id, server.url)


def _page(chromium: Browser) -> Page:
    return chromium.new_page(viewport={"width": 1400, "height": 1000})


# --------------------------------------------------------------------------- the live stream
def _live(named: bool) -> tuple[LiveTask, asyncio.Queue[dict[str, Any]]]:
    def show(state: AnswerState) -> dict[str, Any]:
        return {"position": state.position, "status": state.status, "retries": state.retries}

    live = LiveTask("t", show, [AnswerState(0), AnswerState(1)], named=named)
    return live, live.subscribe()


async def test_streaming_starts_with_the_first_token_and_retries_are_forwarded() -> None:
    live, queue = _live(named=False)
    secret = "openrouter:fake/flaky-429-1 is rate limited"
    live.on_event(GatewayEvent(0, "m", "start"))
    assert live.answers[0].status == "pending", "no token yet: the answer is waiting"
    live.on_event(GatewayEvent(0, "m", "retry", text=secret))
    assert live.snapshot()["answers"][0]["retries"] == 1
    live.on_event(GatewayEvent(0, "m", "delta", text="def"))
    assert live.answers[0].status == "streaming"
    assert live.answers[0].first_token_at is not None
    live.on_event(GatewayEvent(0, "m", "done", result=CallResult("m", "p", "ok", text="def")))
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [e["type"] for e in events] == ["start", "retry", "delta", "done"]
    retry = events[1]
    assert retry == {"type": "retry", "position": 0, "retries": 1, "reason": BLIND_RETRY_REASON}
    assert "fake" not in json.dumps(events), "a blind retry names no model"
    timing = live.timing()["answers"]
    assert timing[0]["finished_s"] is not None and timing[1]["finished_s"] is None

    named, queue = _live(named=True)
    named.on_event(GatewayEvent(1, "m", "retry", text="Rate limit exceeded"))
    assert queue.get_nowait()["reason"] == "Rate limit exceeded"


async def test_a_blind_retry_reaches_the_stream_without_a_model_name(arena: Arena) -> None:
    flaky, ok = unique("flaky-429-1"), unique("ok")
    study = arena.study([flaky, ok], mode="blind")
    client = await arena.participant(study)
    task_id = (await client.post("/api/tasks", {"text": "Write add(a, b)"})).json()["id"]
    stream = (await client.get(f"/api/tasks/{task_id}/events")).text
    # subscribed before the retry: its event; after it, the snapshot counts it
    assert '"type":"retry"' in stream or '"retries":1' in stream, stream
    for line in stream.splitlines():
        if line.startswith("data: ") and '"type":"retry"' in line:
            assert json.loads(line[6:])["reason"] == BLIND_RETRY_REASON
    view = await arena.finish(client, task_id)
    for model in (flaky, ok):
        assert model.split(":")[1] not in stream and model.split(":")[1] not in json.dumps(view)


async def test_the_task_json_carries_server_elapsed_times(arena: Arena) -> None:
    for mode, models in (("named", [unique("ok"), unique("slow-0.01")]), ("blind", None)):
        pair = models or [unique("ok"), unique("ok")]
        client = await arena.participant(arena.study(pair, mode=mode))
        body: dict[str, Any] = {"text": "Write add(a, b)"}
        if mode == "named":
            body["models"] = pair
        created = (await client.post("/api/tasks", body)).json()
        assert set(created["timing"]) == {"elapsed_s", "answers"}
        view = await arena.finish(client, created["id"])
        timing = view["timing"]
        finished = [a["finished_s"] for a in timing["answers"]]
        assert all(f is not None and f >= 0 for f in finished), timing
        assert timing["elapsed_s"] == max(finished)
        for a in timing["answers"]:
            assert set(a) == {"position", "first_token_s", "finished_s"}
            assert a["first_token_s"] is not None and a["first_token_s"] <= a["finished_s"] + 0.1
        again = (await client.get(f"/api/tasks/{created['id']}")).json()
        assert again["timing"] == timing, "stored times do not move"
        if mode == "blind":
            for model in pair:
                assert model.split(":")[1] not in json.dumps(view)


async def test_my_study_says_why_generate_is_disabled(arena: Arena) -> None:
    models = [unique("ok"), unique("ok")]
    client = await arena.participant(arena.study(models, budget_tasks=1))
    before = (await client.get("/api/study")).json()
    assert before["generate_disabled_reason"] is None and before["tasks_used"] == 0
    task_id = (await client.post("/api/tasks", {"text": "Write add", "models": models})).json()
    await arena.finish(client, task_id["id"])
    after = (await client.get("/api/study")).json()
    assert after["tasks_used"] == 1
    assert after["generate_disabled_reason"] == "you have used all 1 tasks of this study"
    refused = await client.post("/api/tasks", {"text": "Write add", "models": models})
    assert (
        refused.status_code == 403
        and refused.json()["error"] == (after["generate_disabled_reason"])
    )


# --------------------------------------------------------------------------- the browser
def test_the_blind_reveal_keeps_the_run_the_ratings_and_the_comments(
    live_server: LiveServer,
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    page = _page(browser)
    errors = _errors(page)
    _join(page, _study(live_server, [unique("ok"), unique("ok")], "blind"), "cleo")
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_text("Tests (optional)").click()
    page.get_by_test_id("tests-code").fill("assert add(1, 2) == 3")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("vote-a")).to_be_enabled(timeout=20_000)
    a, b = page.get_by_test_id("answer").nth(0), page.get_by_test_id("answer").nth(1)
    a.get_by_test_id("run").first.click()
    expect(a.get_by_test_id("verdict")).to_have_text("passed", timeout=30_000)
    a.get_by_test_id("rating-correctness").select_option("5")
    a.get_by_test_id("rating-quality").select_option("4")
    a.get_by_test_id("rating-usefulness").select_option("3")
    a.get_by_test_id("rating-comment").fill("clear and short")
    a.get_by_test_id("rating-save").click()
    expect(a.get_by_test_id("rating-status")).to_have_text("saved")
    b.get_by_test_id("rating-comment").fill("a draft, not saved yet")
    elapsed = [e.text_content() for e in page.get_by_test_id("elapsed").all()]
    page.get_by_test_id("vote-a").click()
    expect(page.get_by_test_id("vote-status")).to_contain_text("The models are revealed.")
    expect(a.locator('[data-role="name"]')).not_to_have_text("Model A")
    # the reveal changes the names, not the answers: the run, the ratings and comments stay
    expect(a.get_by_test_id("verdict")).to_have_text("passed")
    expect(a.get_by_test_id("run-result")).to_contain_text("tests passed 1/1")
    expect(a.get_by_test_id("rating-correctness")).to_have_value("5")
    expect(a.get_by_test_id("rating-usefulness")).to_have_value("3")
    expect(a.get_by_test_id("rating-comment")).to_have_value("clear and short")
    expect(a.get_by_test_id("rating-status")).to_have_text("saved")
    expect(b.get_by_test_id("rating-comment")).to_have_value("a draft, not saved yet")
    assert [e.text_content() for e in page.get_by_test_id("elapsed").all()] == elapsed
    page.screenshot(path=shots / "9-blind-reveal-keeps-run.png", full_page=True)
    page.reload()
    expect(a.get_by_test_id("rating-comment")).to_have_value("clear and short")
    expect(a.get_by_test_id("rating-quality")).to_have_value("4")
    expect(page.get_by_test_id("vote-status")).to_have_text("Your vote: A is better")
    assert errors == []


def test_named_page_waits_retries_and_keeps_elapsed_times_through_a_reload(
    live_server: LiveServer,
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    fast, late, flaky = unique("ok"), unique("slow-first-3"), unique("flaky-429-1-slow-first-3")
    page = _page(browser)
    errors = _errors(page)
    _join(page, _study(live_server, [fast, late, flaky], "named"), "dan")
    options = page.get_by_test_id("model-option")
    expect(options).to_have_count(3)
    for i in range(3):  # the study's models are ticked: Generate works without a click
        expect(options.nth(i)).to_be_checked()
    page.get_by_test_id("task-input").fill("Write add(a, b) in Python")
    page.get_by_test_id("generate").click()

    def col(model: str) -> Any:
        return page.locator(f'[data-testid="answer"][data-model="{model}"]')

    expect(col(fast).get_by_test_id("answer-status")).to_have_text("ok")
    # before its first token an answer is waiting, not streaming; a 429 shows as retrying
    expect(col(late).get_by_test_id("answer-status")).to_have_text("waiting")
    expect(col(late).locator("pre.streaming")).to_be_empty()
    expect(col(flaky).get_by_test_id("answer-status")).to_have_text("retrying")
    expect(col(flaky).get_by_test_id("answer-retry")).to_contain_text("Rate limit")
    expect(col(late).get_by_test_id("elapsed")).to_have_text(ELAPSED)
    # a Run while the others still arrive survives their arrival
    col(fast).get_by_test_id("run").first.click()
    expect(col(fast).get_by_test_id("verdict")).to_have_text("ran", timeout=30_000)
    page.screenshot(path=shots / "10-named-waiting-retrying.png", full_page=True)
    page.reload()  # mid-stream: the snapshot still knows the retry and the elapsed time
    expect(col(flaky).get_by_test_id("answer-status")).to_have_text(re.compile("retrying|ok"))
    expect(col(late).get_by_test_id("elapsed")).to_have_text(ELAPSED)
    col(fast).get_by_test_id("run").first.click()
    expect(col(fast).get_by_test_id("verdict")).to_have_text("ran", timeout=30_000)
    expect(page.get_by_test_id("task-status")).to_have_text("All answers are in.", timeout=30_000)
    for model in (fast, late, flaky):
        expect(col(model).get_by_test_id("answer-status")).to_have_text("ok")
    expect(col(fast).get_by_test_id("verdict")).to_have_text("ran")
    expect(col(flaky).get_by_test_id("answer-retry")).to_be_hidden()

    page.reload()
    shown = [col(m).get_by_test_id("elapsed").text_content() for m in (fast, late, flaky)]
    assert all(ELAPSED.match(text or "") for text in shown), shown
    page.reload()
    again = [col(m).get_by_test_id("elapsed").text_content() for m in (fast, late, flaky)]
    assert again == shown, "elapsed times come from the server's timestamps"
    assert errors == []


def test_generate_is_disabled_once_the_budget_is_used(
    live_server: LiveServer,
    browser: Browser,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    page = _page(browser)
    errors = _errors(page)
    for name, fields, reason in (
        ("eli", {"budget_tasks": 1}, "you have used all 1 tasks of this study"),
        ("fay", {"budget_usd": 0.0000001}, "you have used this study's budget"),
    ):
        _join(page, _study(live_server, [unique("ok"), unique("ok")], "named", **fields), name)
        expect(page.get_by_test_id("generate")).to_be_enabled()
        expect(page.get_by_test_id("generate-disabled-reason")).to_have_count(0)
        page.get_by_test_id("task-input").fill("Write add(a, b)")
        page.get_by_test_id("generate").click()
        expect(page.get_by_test_id("task-status")).to_have_text(
            "All answers are in.", timeout=20_000
        )
        page.goto(f"{live_server.url}/study")
        expect(page.get_by_test_id("generate")).to_be_disabled()
        expect(page.get_by_test_id("generate-disabled-reason")).to_contain_text(reason)
    page.screenshot(path=shots / "11-budget-used.png", full_page=True)
    assert errors == []
