"""The study dashboard and its JSON twin: who may see them, what they show, escaping."""

from __future__ import annotations

import re

from sqlalchemy import select

from codearena.store.models import Task
from codearena.store.platform_models import WebUser
from codearena.web.dashboard import interval_chart, shade
from tests.analysis.data import ALPHA, EVIL, EVIL_COMMENT, make_study
from tests.web.conftest import Arena, Client

HTML = {"accept": "text/html"}


def _user_id(arena: Arena, client: Client) -> str:
    with arena.context.store.session() as session:
        user = session.scalars(select(WebUser).where(WebUser.email == client.info["email"])).one()
        return user.id


async def _setup(arena: Arena) -> tuple[dict[str, Client], str]:
    owner = await arena.staff("researcher")
    study_id = make_study(arena.context.store, owner_id=_user_id(arena, owner))
    other_study = arena.study([f"openrouter:fake/x-{i}" for i in range(2)])
    clients = {
        "anonymous": await arena.client(),
        "participant": await arena.participant(other_study),
        "other researcher": await arena.staff("researcher"),
        "owner": owner,
        "admin": await arena.staff("admin"),
    }
    return clients, study_id


async def test_dashboard_authorization(dash_arena: Arena) -> None:
    clients, study_id = await _setup(dash_arena)
    page = f"/researcher/studies/{study_id}/dashboard?rounds=50"
    api = f"/api/studies/{study_id}/analysis?rounds=50"
    anonymous = clients["anonymous"].http
    response = await anonymous.get(page, headers=HTML)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await anonymous.get(api)).status_code == 401
    participant = clients["participant"].http
    assert (await participant.get(page, headers=HTML)).status_code == 403
    assert (await participant.get(api)).status_code == 403
    other = clients["other researcher"].http
    assert (await other.get(page, headers=HTML)).status_code == 404
    assert (await other.get(api)).status_code == 404
    for role in ("owner", "admin"):
        http = clients[role].http
        assert (await http.get(page, headers=HTML)).status_code == 200, role
        assert (await http.get(api)).status_code == 200, role
    missing = await clients["admin"].http.get("/api/studies/nope/analysis")
    assert missing.status_code == 404


async def test_dashboard_shows_every_section_escaped(dash_arena: Arena) -> None:
    clients, study_id = await _setup(dash_arena)
    response = await clients["owner"].http.get(
        f"/researcher/studies/{study_id}/dashboard?rounds=50", headers=HTML
    )
    html = response.text
    for testid in (
        "progress",
        "leaderboard",
        "interval-chart",
        "win-matrix",
        "ratings",
        "objective",
        "pass-chart",
        "breakdown-language",
        "correlations",
        "agreement",
        "tasks",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "<script>alert" not in html and EVIL not in html and EVIL_COMMENT not in html
    assert "evil/&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ALPHA in html and "shade-10" in html  # alpha won its one battle against EVIL
    assert re.search(r"<script(?![^>]*src=\"/static/app\.js\")", html) is None
    assert ' style="' not in html and "onclick" not in html
    assert "0.1500 USD of 2.00 USD" in html
    assert 'data-testid="rating-distribution"' in html and "median" in html


async def test_analysis_json_and_task_tagging(dash_arena: Arena) -> None:
    clients, study_id = await _setup(dash_arena)
    owner = clients["owner"]
    data = (await owner.get(f"/api/studies/{study_id}/analysis?rounds=50&seed=1")).json()
    assert data["study"]["id"] == study_id and data["options"]["rounds"] == 50
    assert {r["model"] for r in data["leaderboard"]} == {ALPHA, EVIL, "m/beta"}
    assert data["objective"][ALPHA]["passed"] == 2
    assert set(data["breakdowns"]) == {"language", "category", "experience", "role"}
    task_id = study_id[:8] + "t2"
    url = f"/researcher/studies/{study_id}/tasks/{task_id}/category"
    refused = await clients["anonymous"].http.post(url, data={"category": "x"})
    assert refused.status_code == 401
    forged = await owner.http.post(url, data={"category": "x"}, headers={"X-CSRF-Token": "f"})
    assert forged.status_code == 403  # the CSRF check
    other = clients["other researcher"]
    assert (await other.http.post(url, data={"category": "x"})).status_code == 404
    wrong = await owner.http.post(
        f"/researcher/studies/{study_id}/tasks/elsewhere/category", data={"category": "x"}
    )
    assert wrong.status_code == 404
    response = await owner.http.post(url, data={"category": "sorting"})
    assert response.status_code == 303
    with dash_arena.context.store.session() as session:
        assert session.get(Task, task_id).category == "sorting"  # type: ignore[union-attr]
    data = (await owner.get(f"/api/studies/{study_id}/analysis?rounds=50")).json()
    assert "sorting" in data["breakdowns"]["category"]


def test_chart_helpers() -> None:
    assert shade(None) == "shade-none" and shade(0.0) == "shade-0" and shade(0.96) == "shade-10"
    chart = interval_chart(
        [
            {"model": "a", "rating": 1100.0, "ci_low": 1000.0, "ci_high": 1200.0},
            {"model": "b", "rating": 900.0, "ci_low": 800.0, "ci_high": 1000.0},
        ]
    )
    first, second = chart["rows"]
    assert first["x_low"] < first["x_rating"] < first["x_high"]
    assert second["x_high"] == first["x_low"] and second["y"] > first["y"]
    assert interval_chart([])["rows"] == []
