"""The study dashboard and its JSON twin: who may see them, what they show, escaping."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert "0.1500 USD of 2.000 USD (0.5000 USD per participant" in html  # display.usd
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


SEPARATE = "x/one", "x/two"


async def test_dashboard_shows_warnings_too_small_notes_and_the_reports_spend(
    dash_arena: Arena, tmp_path: Path
) -> None:
    from codearena.analysis import display, import_votes
    from codearena.reports import build_report

    clients, study_id = await _setup(dash_arena)
    store = dash_arena.context.store
    one, two = SEPARATE
    import_votes(
        store, study_id, f"model_a,model_b,winner\n{one},{two},a\n{one},{two},a\n", "x.csv"
    )
    html = (
        await clients["owner"].http.get(
            f"/researcher/studies/{study_id}/dashboard?rounds=50", headers=HTML
        )
    ).text
    apart = (
        f"{one} is in group 2 of 2 ({one} and {two}), which never met the other 3 models "
        "(evil/&lt;script&gt;alert(1)&lt;/script&gt;, m/alpha and m/beta), directly or through "
        "other models, so ratings across groups are not comparable."
    )
    swept = (
        f"{one} won all 2 of its battles against {two}, so its rating has no finite estimate: "
        "its interval is unbounded on both sides."
    )
    warnings = html.split('data-testid="leaderboard-warnings"', 1)[1].split("</ul>", 1)[0]
    assert f"<li>{apart}</li>" in warnings and f"<li>{swept}</li>" in warnings
    assert 'data-testid="row-warning"' in html and "-∞ to ∞" in html
    assert 'data-testid="open-low"' in html and 'data-testid="open-high"' in html
    # alpha has 3 correctness ratings and 3 runs: no interval, the note instead
    assert "n too small (n=3 &lt; 5)" in html and 'data-testid="ci-note"' in html
    assert 'data-testid="pass-note"' in html
    # spend: the dashboard and the report write the same text, from one formatter
    data = (await clients["owner"].get(f"/api/studies/{study_id}/analysis?rounds=50")).json()
    spend = display.usd(data["progress"]["spend_usd"])
    assert spend == "0.1500 USD"
    shown = re.search(r'data-testid="spend">([^<]*?) of ', html)
    assert shown is not None and shown.group(1) == spend
    md = build_report(store, study_id, tmp_path / "md", "md", rounds=50).path.read_text()
    assert f"| spend | {spend} |" in md
    report = build_report(store, study_id, tmp_path / "html", "html", rounds=50).path.read_text()
    assert f'<tr><th>spend</th><td class="num">{spend}</td></tr>' in report
    budget = display.usd(data["progress"]["budget_total_usd"])
    assert f"| budget total | {budget} |" in md and f" of {budget} (" in html


def test_interval_chart_with_open_ends() -> None:
    chart = interval_chart(
        [
            {"model": "top", "rating": 3300.0, "ci_low": 980.0, "ci_high": None},
            {"model": "a", "rating": 1000.0, "ci_low": 920.0, "ci_high": 1080.0},
            {"model": "lone", "rating": 1000.0, "ci_low": None, "ci_high": None},
        ]
    )
    top, a, lone = chart["rows"]
    assert top["open_high"] and not top["open_low"] and top["x_rating"] is None
    # the penalty-driven 3300 does not stretch the axis: the open end runs to the chart's edge
    assert top["x_high"] == 620.0 and a["x_high"] < top["x_high"]
    assert top["x_high"] - top["x_low"] >= a["x_high"] - a["x_low"]
    assert lone["x_low"] == 220.0 and lone["x_high"] == 620.0 and lone["x_rating"] is None
    assert top["title"] == "∞ (980 to ∞)" and lone["title"] == "\u2013 (-∞ to ∞)"
    assert all(float(t["label"]) < 1200 for t in chart["ticks"])
