"""The study dashboard (``/researcher/studies/{id}/dashboard``), its JSON twin
(``/api/studies/{id}/analysis``) and the task-category form. ``codearena.web.app`` mounts
``router``.

Charts are drawn on the server: interval bars as inline SVG whose only text comes through
Jinja2's autoescaping, the win-rate heatmap as table cells with shade classes from
``static/dashboard.css`` (the CSP allows no inline script and no inline style).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from codearena.analysis import StudyAnalysis, analyse_data, load_study, tag_task
from codearena.analysis.api_calls import api_usage
from codearena.analysis.corrections import correction_cost
from codearena.analysis.display import board_interval, board_rating, chart_span
from codearena.analysis.load import StudyData
from codearena.stats import MIN_INTERVAL_N
from codearena.stats.planning import project_votes
from codearena.studies.fixes import fix_summary
from codearena.studies.study import owned_study
from codearena.web.auth import Principal, owner_filter
from codearena.web.deps import PlatformDep, Staff, check_csrf
from codearena.web.errors import ApiError, NotFound
from codearena.web.pages import render
from codearena.web.state import Platform

router = APIRouter(dependencies=[Depends(check_csrf)])
Rounds = Annotated[int, Query(ge=1, le=10_000, description="bootstrap resamples")]
Seed = Annotated[int, Query(description="bootstrap seed")]
Flagged = Annotated[bool, Query(description="count self-revealing votes")]
CHART_WIDTH = 640
LABEL_WIDTH = 220
PLOT_WIDTH = CHART_WIDTH - LABEL_WIDTH
"""The plot's part of a chart (with its right margin); the label column grows to fit the
longest model label, which is shown whole."""
CHAR_WIDTH = 7  # px per character of a row label (the charts' 12 px sans-serif, generously)


def label_column(names: list[str]) -> int:
    """The width of a chart's label column: room for the longest label, at least LABEL_WIDTH."""
    return max(LABEL_WIDTH, 16 + CHAR_WIDTH * max((len(n) for n in names), default=0))


ROW_HEIGHT = 26
PROMPT_PREVIEW = 140


def _analyse(
    platform: Platform, who: Principal, study_id: str, rounds: int, seed: int, include_flagged: bool
) -> tuple[StudyData, StudyAnalysis]:
    study = owned_study(platform.context.store, study_id, owner_filter(who))
    data = load_study(platform.context.store, study.id)
    analysis = analyse_data(data, rounds=rounds, seed=seed, include_flagged=include_flagged)
    return data, analysis


def interval_chart(
    rows: list[dict[str, Any]], labels: dict[str, str] | None = None, left: int = LABEL_WIDTH
) -> dict[str, Any]:
    """Geometry of the leaderboard's interval bars: one row per model, x in SVG units.

    An end the votes leave open (None) runs to the edge of the chart and ends in an arrow
    (``open_low`` / ``open_high``), so that such a model's interval is never drawn narrower than
    the others'; its rating (set by the ridge penalty, not by the votes) is not drawn, and does
    not stretch the axis (``display.chart_span``)."""
    labels = labels or {}
    if not rows:
        return {"rows": [], "width": left + PLOT_WIDTH, "height": 0, "ticks": []}
    low, high = chart_span(rows)
    pad = max((high - low) * 0.05, 10.0)
    low, high = low - pad, high + pad
    span = PLOT_WIDTH - 20

    def x(value: float) -> float:
        return round(left + (value - low) / (high - low) * span, 1)

    step = _tick_step(high - low)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high:
        ticks.append({"x": x(value), "label": f"{value:.0f}"})
        value += step
    geometry = []
    for i, r in enumerate(rows):
        rating = _bounded_rating(r)
        geometry.append(
            {
                "model": r["model"],
                "label": labels.get(r["model"], r["model"]),
                "y": 20 + i * ROW_HEIGHT,
                "x_low": float(left) if r["ci_low"] is None else x(r["ci_low"]),
                "x_high": float(left + span) if r["ci_high"] is None else x(r["ci_high"]),
                "x_rating": None if rating is None else x(rating),
                "open_low": r["ci_low"] is None,
                "open_high": r["ci_high"] is None,
                "title": f"{board_rating(r)} ({board_interval(r)})",
            }
        )
    height = 30 + len(rows) * ROW_HEIGHT
    return {"rows": geometry, "width": left + PLOT_WIDTH, "height": height, "ticks": ticks}


def _bounded_rating(row: dict[str, Any]) -> float | None:
    """The rating of a row whose interval is finite on both ends, else None."""
    if row["ci_low"] is None or row["ci_high"] is None:
        return None
    return float(row["rating"])


def _tick_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def shade(value: float | None) -> str:
    """The heatmap class of a win rate: ``shade-0`` (lost every battle) to ``shade-10``."""
    if value is None:
        return "shade-none"
    return f"shade-{max(0, min(10, round(value * 10)))}"


def pass_bars(
    objective: dict[str, dict[str, Any]],
    labels: dict[str, str] | None = None,
    left: int = LABEL_WIDTH,
) -> list[dict[str, Any]]:
    """Pass rate with its Wilson interval as percentages of a 0-100 bar, per model; a model run
    fewer than ``stats.MIN_INTERVAL_N`` times has no interval, only its note."""
    labels = labels or {}
    bars: list[dict[str, Any]] = []
    span = PLOT_WIDTH - 20
    for model, figures in objective.items():
        rate = figures.get("pass_rate")
        if rate is None:
            continue
        i = len(bars)
        low, high = figures.get("pass_ci_low"), figures.get("pass_ci_high")
        bounded = low is not None and high is not None
        note = figures.get("pass_ci_note")
        x_low = round(left + low * span, 1) if low is not None and bounded else None
        x_high = round(left + high * span, 1) if high is not None and bounded else None
        bars.append(
            {
                "model": model,
                "label": labels.get(model, model),
                "y": 20 + i * ROW_HEIGHT,
                "x_rate": round(left + rate * span, 1),
                "x_low": x_low,
                "x_high": x_high,
                "width": round(rate * span, 1),
                "note": None if bounded else note,
                # after the bar, or inside it when the bar leaves no room for the note
                "x_note": round(left + (rate * span if rate <= 0.6 else 0.0) + 6, 1),
                "title": f"{figures['passed']} of {figures['executed']} answers with tests passed "
                f"(n={figures['executed']})" + ("" if bounded or not note else f"; {note}"),
            }
        )
    return bars


CURVE_HEIGHT = 160
SERIES = 8
"""Colour classes of the repair curve's lines (``series-0`` ... in ``static/dashboard.css``)."""


def repair_chart(corrections: dict[str, Any]) -> dict[str, Any] | None:
    """Geometry of the pass-rate-by-repair-round curve: one polyline per model with first
    answers run against tests (x: round 0 = the first answer, y: share passed by that round);
    None without a repair round."""
    rounds = int(corrections["max_round"])
    rows = [r for r in corrections["models"] if r["by_round"] and r["by_round"][0]["n"]]
    if not rounds or not rows:
        return None
    left, span = 60, CHART_WIDTH - LABEL_WIDTH - 80
    top, bottom = 10, 10 + CURVE_HEIGHT

    def x(k: int) -> float:
        return round(left + k * span / rounds, 1)

    def y(rate: float) -> float:
        return round(bottom - rate * CURVE_HEIGHT, 1)

    series = []
    for i, row in enumerate(rows):
        points = [(x(p["round"]), y(p["rate"] or 0.0)) for p in row["by_round"]]
        series.append(
            {
                "model": row["model"],
                "label": row["label"],
                "n": row["by_round"][0]["n"],
                "points": " ".join(f"{px},{py}" for px, py in points),
                "dots": [
                    {"x": px, "y": py, "title": f"{p['passed']}/{p['n']}"}
                    for (px, py), p in zip(points, row["by_round"], strict=True)
                ],
                "css": f"series-{i % SERIES}",
                "legend_y": top + 12 + i * 16,
            }
        )
    return {
        "series": series,
        "ticks": [
            {"x": x(k), "label": "first" if k == 0 else f"repair {k}"} for k in range(rounds + 1)
        ],
        "levels": [{"y": y(v), "label": f"{v:.0%}"} for v in (0.0, 0.5, 1.0)],
        "left": left,
        "right": left + span,
        "legend_x": left + span + 20,
        "height": bottom + 30,
        "width": CHART_WIDTH,
    }


def vote_projection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The votes the running study needs for median intervals of 100 and 50 rating points, from
    its own intervals (``stats.planning.project_votes``)."""
    widths = [
        r["ci_high"] - r["ci_low"]
        for r in rows
        if r.get("ci_low") is not None and r.get("ci_high") is not None
    ]
    votes = sum(int(r.get("battles") or 0) for r in rows) // 2  # each vote has two sides
    return project_votes(widths, votes)


def task_rows(data: StudyData) -> list[dict[str, Any]]:
    """The study's pipeline tasks for the category form."""
    seen: dict[str, dict[str, Any]] = {}
    for study_task in data.study_tasks:
        task = data.tasks.get(study_task.task_id or "")
        if task is None:
            continue
        row = seen.setdefault(
            task.id,
            {
                "id": task.id,
                "prompt": task.prompt[:PROMPT_PREVIEW]
                + ("..." if len(task.prompt) > PROMPT_PREVIEW else ""),
                "language": task.output_language,
                "category": task.category,
                "participants": set(),
            },
        )
        row["participants"].add(study_task.participant_id)
    return [{**r, "participants": len(r["participants"])} for r in seen.values()]


@router.get("/researcher/studies/{study_id}/dashboard", include_in_schema=False)
def dashboard(
    study_id: str,
    request: Request,
    platform: PlatformDep,
    who: Staff,
    rounds: Rounds = 1000,
    seed: Seed = 0,
    include_flagged: Flagged = False,
) -> HTMLResponse:
    data, analysis = _analyse(platform, who, study_id, rounds, seed, include_flagged)
    result = analysis.to_dict()
    battles = result["win_matrix"].get("battles") or []
    heatmap = [
        [
            {"value": v, "shade": shade(v), "battles": battles[i][j] if battles else None}
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(result["win_matrix"]["matrix"])
    ]
    fixes = fix_summary(platform.context.store, data.study.id)
    corrections = correction_cost(data, fixes, rounds=rounds, seed=seed)
    labels: dict[str, str] = result.get("labels") or {}
    shown = [r["model"] for r in result["leaderboard"]] + list(result["objective"])
    left = label_column([labels.get(m, m) for m in shown])
    return render(
        request,
        "dashboard.html",
        study=data.study,
        a=result,
        chart=interval_chart(result["leaderboard"], labels, left),
        min_n=MIN_INTERVAL_N,
        heatmap=heatmap,
        pass_chart=pass_bars(result["objective"], labels, left),
        chart_width=left + PLOT_WIDTH,
        label_width=left,
        tasks=task_rows(data),
        include_flagged=include_flagged,
        fixes=[m.to_dict() for m in fixes],
        corrections=corrections,
        repair_chart=repair_chart(corrections),
        projection=vote_projection(result["leaderboard"]),
        api_calls=[u.to_dict() for u in api_usage(platform.context.store, data.study.id)],
    )


@router.post("/researcher/studies/{study_id}/tasks/{task_id}/category", include_in_schema=False)
def tag_category(
    study_id: str,
    task_id: str,
    platform: PlatformDep,
    who: Staff,
    category: Annotated[str, Form()] = "",
) -> Response:
    """Tag one of the study's tasks with a category (blank clears it)."""
    study = owned_study(platform.context.store, study_id, owner_filter(who))
    data = load_study(platform.context.store, study.id)
    if task_id not in data.tasks:
        raise NotFound("no such task in this study")
    try:
        tag_task(platform.context.store, task_id, category)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    return RedirectResponse(f"/researcher/studies/{study.id}/dashboard#tasks", status_code=303)


@router.get(
    "/api/studies/{study_id}/analysis",
    tags=["analysis"],
    summary="Every figure of a study (its researcher, admin)",
)
def analysis_json(
    study_id: str,
    platform: PlatformDep,
    who: Staff,
    rounds: Rounds = 1000,
    seed: Seed = 0,
    include_flagged: Flagged = False,
) -> JSONResponse:
    data, analysis = _analyse(platform, who, study_id, rounds, seed, include_flagged)
    summary = fix_summary(platform.context.store, data.study.id)
    corrections = correction_cost(data, summary, rounds=rounds, seed=seed)
    fixes = [m.to_dict() for m in summary]
    api_calls = [u.to_dict() for u in api_usage(platform.context.store, data.study.id)]
    return JSONResponse(
        {**analysis.to_dict(), "fixes": fixes, "corrections": corrections, "api_calls": api_calls}
    )
