"""The report's figures, each written as PNG and SVG (matplotlib, no display needed)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from codearena.analysis.display import chart_span

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",
        "figure.dpi": 110,
    }
)


@dataclass(frozen=True)
class FigureFile:
    name: str  # file stem, e.g. "leaderboard"
    title: str
    png: str
    svg: str


def _save(fig: Figure, out: Path, name: str, title: str) -> FigureFile:
    fig.tight_layout()
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    fig.savefig(png, dpi=150)
    fig.savefig(svg)
    plt.close(fig)
    return FigureFile(name, title, png.name, svg.name)


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def leaderboard_figure(rows: Sequence[dict[str, Any]], out: Path) -> FigureFile | None:
    """Ratings with their intervals. An end the votes leave open (None) runs to the edge of the
    axes and ends in an arrow, and such a row's rating (set by the ridge penalty) is not drawn
    and does not stretch the axis (``display.chart_span``, shared with the dashboard), so that its
    interval is never drawn narrower than the others'."""
    if not rows:
        return None
    rows = list(reversed(rows))
    low, high = chart_span(rows)
    pad = max((high - low) * 0.08, 10.0)
    left, right = low - pad, high + pad
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(rows) + 1.2))
    for y, r in enumerate(rows):
        start = left if r["ci_low"] is None else r["ci_low"]
        end = right if r["ci_high"] is None else r["ci_high"]
        opened = r["ci_low"] is None or r["ci_high"] is None
        style = "--" if opened else "-"
        ax.plot([start, end], [y, y], color="#1f4e79", linewidth=1.4, linestyle=style)
        if r["ci_low"] is None:
            ax.plot([left], [y], marker="<", color="#1f4e79", markersize=7)
        elif opened:
            ax.plot([start, start], [y - 0.15, y + 0.15], color="#1f4e79", linewidth=1.4)
        if r["ci_high"] is None:
            ax.plot([right], [y], marker=">", color="#1f4e79", markersize=7)
        elif opened:
            ax.plot([end, end], [y - 0.15, y + 0.15], color="#1f4e79", linewidth=1.4)
        if not opened:
            spread = [[r["rating"] - start], [end - r["rating"]]]
            ax.errorbar([r["rating"]], [y], xerr=spread, fmt="o", color="#1f4e79", capsize=3)
    ax.set_xlim(left, right)
    ax.set_yticks(list(range(len(rows))), [_short(r["model"]) for r in rows])
    ax.set_xlabel("Bradley-Terry rating (95% bootstrap interval; arrows: no limit)")
    if left < 1000 < right:
        ax.axvline(1000, color="#999", linewidth=0.8, linestyle=":")
    return _save(fig, out, "leaderboard", "Leaderboard with 95% intervals")


def winrate_figure(
    models: Sequence[str], matrix: Sequence[Sequence[float | None]], out: Path
) -> FigureFile | None:
    if len(models) < 2:
        return None
    n = len(models)
    values = [[float("nan") if v is None else v for v in row] for row in matrix]
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * n, 0.8 + 0.6 * n))
    image = ax.imshow(values, cmap="RdBu", vmin=0, vmax=1)
    labels = [_short(m, 18) for m in models]
    ax.set_xticks(range(n), labels, rotation=40, ha="right")
    ax.set_yticks(range(n), labels)
    for i in range(n):
        for j in range(n):
            v = matrix[i][j]
            if v is not None:
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if abs(v - 0.5) > 0.3 else "black",
                )
    ax.set_xlabel("opponent")
    ax.set_ylabel("model (row wins against column)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, out, "winrate", "Win rate of each model (row) against each opponent (column)")


def ratings_figure(ratings: dict[str, dict[str, dict[str, Any]]], out: Path) -> FigureFile | None:
    dims = ["correctness", "quality", "usefulness"]
    models = [m for m in ratings if any(ratings[m].get(d, {}).get("n") for d in dims)]
    if not models:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.45 * len(models) + 1.6), sharey=True)
    colors = ["#b2182b", "#ef8a62", "#f7f7f7", "#67a9cf", "#2166ac"]
    for ax, dim in zip(axes, dims, strict=True):
        for y, model in enumerate(models):
            summary = ratings[model].get(dim) or {}
            counts = summary.get("counts") or {}
            total = sum(int(counts.get(str(s), counts.get(s, 0)) or 0) for s in range(1, 6))
            left = 0.0
            for score in range(1, 6):
                share = (
                    (int(counts.get(str(score), counts.get(score, 0)) or 0) / total) if total else 0
                )
                ax.barh(
                    y, share, left=left, color=colors[score - 1], edgecolor="#555", linewidth=0.3
                )
                left += share
        ax.set_title(dim)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of ratings (1 red ... 5 blue)")
    axes[0].set_yticks(range(len(models)), [_short(m) for m in models])
    return _save(fig, out, "ratings", "Distribution of 1-5 ratings per model")


def pass_rate_figure(
    points: Sequence[tuple[str, float, float | None, float | None, str | None]],
    out: Path,
    sizes: Sequence[int] | None = None,
) -> FigureFile | None:
    """``points``: (model, pass rate, ci low, ci high, note); a point without an interval
    (too few runs) shows its note ("n too small (n=3 < 5)") instead of error bars. ``sizes``:
    each point's n (answers run against tests), shown after the model's name."""
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(points) + 1.2))
    for y, (_, rate, low, high, note) in enumerate(points):
        ax.barh(y, rate, color="#4d9221", alpha=0.8)
        if low is not None and high is not None:
            ax.errorbar(rate, y, xerr=[[rate - low], [high - rate]], color="black", capsize=3)
        elif note:
            ax.text(min(rate + 0.02, 0.7), y, note, va="center", fontsize=7, color="#444")
    labels = [_short(p[0]) for p in points]
    if sizes is not None:
        labels = [f"{label} (n={n})" for label, n in zip(labels, sizes, strict=True)]
    ax.set_yticks(range(len(points)), labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "share of the answers run against tests that passed (95% Wilson interval);"
        "\nruns without tests (verdict ran) are left out"
    )
    return _save(fig, out, "pass_rates", "Pass rate of generated code per model")


def human_vs_objective_figure(
    points: Sequence[tuple[float, float, float | None]], out: Path
) -> FigureFile | None:
    """``points``: per generation (mean correctness rating, passed 0/1, findings per 100 lines)."""
    if len(points) < 2:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    # deterministic jitter so that equal (verdict, rating) pairs do not hide each other
    jitter_x = [((i * 37) % 21 - 10) / 60 for i in range(len(points))]
    jitter_y = [((i * 53) % 13 - 6) / 50 for i in range(len(points))]
    left.scatter(
        [p[1] + j for p, j in zip(points, jitter_x, strict=True)],
        [p[0] + j for p, j in zip(points, jitter_y, strict=True)],
        s=14,
        color="#1f4e79",
        alpha=0.6,
    )
    left.set_xticks([0, 1], ["failed", "passed"])
    left.set_xlim(-0.6, 1.6)
    left.set_ylabel("mean correctness rating")
    left.set_title("rating vs test verdict")
    with_findings = [(r, f) for r, _, f in points if f is not None]
    right.scatter(
        [f for _, f in with_findings],
        [r for r, _ in with_findings],
        s=14,
        color="#b35806",
        alpha=0.7,
    )
    right.set_xlabel("findings per 100 lines")
    right.set_title("rating vs static findings")
    return _save(
        fig,
        out,
        "human_vs_objective",
        "Human ratings against objective measurements, per generation",
    )


def survey_figure(number: int, text: str, counts: dict[str, int], out: Path) -> FigureFile | None:
    if not counts or not any(counts.values()):
        return None
    labels = list(counts)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(labels) + 1.0))
    ax.barh(range(len(labels)), [counts[k] for k in labels], color="#5e3c99")
    ax.set_yticks(range(len(labels)), [_short(k, 32) for k in labels])
    ax.invert_yaxis()
    ax.set_xlabel("respondents")
    ax.set_title("\n".join(textwrap.wrap(f"Q{number}. {text}", 70)), fontsize=9)
    return _save(fig, out, f"survey_q{number}", f"Q{number}. {text}")
