"""The dashboard's conversations and correction-cost section and its JSON twin."""

from __future__ import annotations

from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Study, WebUser
from codearena.web.dashboard import repair_chart
from tests.analysis.test_corrections import MODEL, _study
from tests.web.conftest import Arena, Client

HTML = {"accept": "text/html"}


def _own(store: Store, owner: Client, study_id: str) -> None:
    """Make the signed-in researcher ``owner`` the study's owner."""
    with store.session() as session:
        user = session.scalars(select(WebUser).where(WebUser.email == owner.info["email"])).one()
        study = session.get(Study, study_id)
        assert study is not None
        study.owner_id = user.id


async def test_dashboard_shows_correction_cost(dash_arena: Arena) -> None:
    owner = await dash_arena.staff("researcher")
    store = dash_arena.context.store
    study_id = _study(store, [(3, 120.0, 5, 2)])
    _own(store, owner, study_id)
    html = (
        await owner.http.get(f"/researcher/studies/{study_id}/dashboard?rounds=50", headers=HTML)
    ).text
    section = html.split('data-testid="corrections"', 1)[1].split("</section>", 1)[0]
    assert 'data-testid="repair-chart"' in section
    assert section.count('data-testid="corrections-row"') == 1
    assert "40% (2/5)" in section  # passed unchanged
    assert "60% (3/5)" in section and "80% (4/5)" in section  # by repair 1 and 2
    assert "11% (1/9)" in section  # fixed by hand, of every turn with code
    assert "120 s (" in section and "n too small (n=1 &lt; 5)" in section
    assert "Model A (n=5)" in section  # the curve's legend: label and n
    data = (await owner.get(f"/api/studies/{study_id}/analysis?rounds=50")).json()
    (row,) = data["corrections"]["models"]
    assert row["model"] == MODEL and [r["passed"] for r in row["by_round"]] == [2, 3, 4]
    assert data["corrections"]["max_round"] == 2


def test_repair_chart_geometry() -> None:
    assert repair_chart({"max_round": 0, "models": []}) is None
    rows = [
        {
            "model": "m",
            "label": "M",
            "by_round": [
                {"round": 0, "n": 4, "passed": 1, "rate": 0.25},
                {"round": 1, "n": 4, "passed": 4, "rate": 1.0},
            ],
        }
    ]
    chart = repair_chart({"max_round": 1, "models": rows})
    assert chart is not None
    (series,) = chart["series"]
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in series["points"].split())
    assert x0 == chart["left"] and x1 == chart["right"]
    assert y1 < y0  # a higher share is drawn higher
    assert [t["label"] for t in chart["ticks"]] == ["first", "repair 1"]


async def test_dashboard_projects_the_votes_needed(dash_arena: Arena) -> None:
    from codearena.web.dashboard import vote_projection
    from tests.analysis.data import make_study

    owner = await dash_arena.staff("researcher")
    store = dash_arena.context.store
    study_id = make_study(store)
    _own(store, owner, study_id)
    url = f"/researcher/studies/{study_id}/dashboard?rounds=50"
    html = (await owner.http.get(url, headers=HTML)).text
    line = html.split('data-testid="vote-projection"', 1)[1].split("</p>", 1)[0]
    assert "too few votes or intervals to project from" in line  # a handful of battles
    rows = [
        {"model": "a", "ci_low": 900.0, "ci_high": 1100.0, "battles": 30},
        {"model": "b", "ci_low": 850.0, "ci_high": 1050.0, "battles": 30},
        {"model": "c", "ci_low": None, "ci_high": 1000.0, "battles": 20},
    ]
    projection = vote_projection(rows)
    assert projection["votes"] == 40 and projection["median_width"] == 200.0
    assert [t["votes_needed"] for t in projection["targets"]] == [160, 640]


async def test_dashboard_charts_show_whole_model_labels(dash_arena: Arena) -> None:
    from codearena.web.dashboard import LABEL_WIDTH, interval_chart, label_column
    from tests.analysis.data import EVIL, make_study

    owner = await dash_arena.staff("researcher")
    store = dash_arena.context.store
    study_id = make_study(store)
    _own(store, owner, study_id)
    html = (
        await owner.http.get(f"/researcher/studies/{study_id}/dashboard?rounds=50", headers=HTML)
    ).text
    chart = html.split('data-testid="interval-chart"', 1)[1].split("</svg>", 1)[0]
    escaped = EVIL.replace("<", "&lt;").replace(">", "&gt;")
    assert len(EVIL) == 30 and f"</title>{escaped}</text>" in chart  # whole, escaped
    assert "…" not in chart and "<script>" not in html.split("<body", 1)[1]
    long_name = "vendor/" + "x" * 60
    assert label_column(["a", long_name]) > LABEL_WIDTH >= label_column(["short"])
    rows = [{"model": long_name, "rating": 1000.0, "ci_low": 950.0, "ci_high": 1050.0}]
    left = label_column([long_name])
    geometry = interval_chart(rows, {long_name: "Long Label"}, left)
    assert geometry["rows"][0]["label"] == "Long Label"
    assert geometry["width"] == left + 420 and geometry["rows"][0]["x_low"] > left
