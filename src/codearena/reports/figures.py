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
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from codearena.analysis.display import chart_span

PNG_DPI = 150

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",
        # the PNGs' resolution: tight_layout then measures the text at the dpi the PNG is
        # drawn at, so matplotlib's text-layout cache serves both
        "figure.dpi": PNG_DPI,
    }
)


COLOUR = "#1f4e79"


@dataclass(frozen=True)
class FigureFile:
    name: str  # file stem, e.g. "leaderboard"
    title: str
    png: str
    svg: str


def _save(
    fig: Figure,
    out: Path,
    name: str,
    title: str,
    rect: tuple[float, float, float, float] = (0, 0, 1, 1),
) -> FigureFile:
    fig.tight_layout(rect=rect)
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    fig.savefig(png, dpi=PNG_DPI)
    fig.savefig(svg)
    plt.close(fig)
    return FigureFile(name, title, png.name, svg.name)


def _label(model: str, labels: dict[str, str] | None) -> str:
    """A model's display label, untruncated (its id when it has none)."""
    return (labels or {}).get(model, model)


def leaderboard_figure(
    rows: Sequence[dict[str, Any]], out: Path, labels: dict[str, str] | None = None
) -> FigureFile | None:
    """Ratings with their intervals, in the leaderboard's order (first at the top), each model
    by its label with its number of battles. An end the votes leave open (None) runs to the edge
    of the axes and ends in an arrow, and such a row's rating (set by the ridge penalty) is not
    drawn and does not stretch the axis (``display.chart_span``, shared with the dashboard), so
    that its interval is never drawn narrower than the others'."""
    if not rows:
        return None
    rows = list(reversed(rows))
    low, high = chart_span(rows)
    pad = max((high - low) * 0.08, 10.0)
    left, right = low - pad, high + pad
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.6))
    for y, r in enumerate(rows):
        start = left if r["ci_low"] is None else r["ci_low"]
        end = right if r["ci_high"] is None else r["ci_high"]
        opened = r["ci_low"] is None or r["ci_high"] is None
        style = "--" if opened else "-"
        ax.plot([start, end], [y, y], color=COLOUR, linewidth=1.4, linestyle=style)
        if r["ci_low"] is None:
            ax.plot([left], [y], marker="<", color=COLOUR, markersize=7)
        elif opened:
            ax.plot([start, start], [y - 0.15, y + 0.15], color=COLOUR, linewidth=1.4)
        if r["ci_high"] is None:
            ax.plot([right], [y], marker=">", color=COLOUR, markersize=7)
        elif opened:
            ax.plot([end, end], [y - 0.15, y + 0.15], color=COLOUR, linewidth=1.4)
        if not opened:
            spread = [[r["rating"] - start], [end - r["rating"]]]
            ax.errorbar([r["rating"]], [y], xerr=spread, fmt="o", color=COLOUR, capsize=3)
    ax.set_xlim(left, right)
    ax.set_yticks(
        list(range(len(rows))),
        [f"{_label(r['model'], labels)} (n={r.get('battles', 0)})" for r in rows],
    )
    ax.set_xlabel("Bradley-Terry rating (95% bootstrap interval; arrows: no limit)")
    if left < 1000 < right:
        ax.axvline(1000, color="#999", linewidth=0.8, linestyle=":")
    ax.legend(
        handles=[
            Line2D([], [], color=COLOUR, marker="o", label="rating, 95% interval"),
            Line2D([], [], color=COLOUR, linestyle="--", marker=">", label="open: no limit"),
        ],
        loc="lower right",
        fontsize=7,
        frameon=False,
    )
    ax.set_title("n = battles per model", fontsize=8, loc="left", color="#444")
    return _save(fig, out, "leaderboard", "Leaderboard with 95% intervals")


def winrate_figure(
    models: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    out: Path,
    labels: dict[str, str] | None = None,
    battles: Sequence[Sequence[int]] | None = None,
) -> FigureFile | None:
    """The win-rate heatmap in the leaderboard's order, each cell with its share and its number
    of battles."""
    if len(models) < 2:
        return None
    n = len(models)
    values = [[float("nan") if v is None else v for v in row] for row in matrix]
    fig, ax = plt.subplots(figsize=(2.5 + 0.95 * n, 1.6 + 0.75 * n))
    image = ax.imshow(values, cmap="RdBu", vmin=0, vmax=1)
    names = [_label(m, labels) for m in models]
    ax.set_xticks(range(n), names, rotation=40, ha="right")
    ax.set_yticks(range(n), names)
    for i in range(n):
        for j in range(n):
            v = matrix[i][j]
            if v is not None:
                count = f"\nn={battles[i][j]}" if battles is not None else ""
                ax.text(
                    j,
                    i,
                    f"{v:.2f}{count}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(v - 0.5) > 0.3 else "black",
                )
    ax.set_xlabel("opponent")
    ax.set_ylabel("model (row wins against column)")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("share of the battles won by the row's model (tie = half)")
    return _save(fig, out, "winrate", "Win rate of each model (row) against each opponent (column)")


SCORE_COLOURS = ["#b2182b", "#ef8a62", "#f7f7f7", "#67a9cf", "#2166ac"]


def ratings_figure(
    ratings: dict[str, dict[str, dict[str, Any]]],
    out: Path,
    labels: dict[str, str] | None = None,
    order: Sequence[str] = (),
) -> FigureFile | None:
    """The distribution of the 1-5 scores per model and dimension (one panel per dimension,
    each model's n at its bar's end), models in ``order`` (the leaderboard's) first."""
    dims = ["correctness", "quality", "usefulness"]
    rated = [m for m in ratings if any(ratings[m].get(d, {}).get("n") for d in dims)]
    models = [m for m in order if m in rated] + [m for m in rated if m not in order]
    if not models:
        return None
    models = list(reversed(models))  # the first at the top
    fig, axes = plt.subplots(1, 3, figsize=(11, 0.45 * len(models) + 2.0), sharey=True)
    for ax, dim in zip(axes, dims, strict=True):
        shares: list[list[float]] = []
        totals: list[int] = []
        for model in models:
            counts = (ratings[model].get(dim) or {}).get("counts") or {}
            row = [int(counts.get(str(s), counts.get(s, 0)) or 0) for s in range(1, 6)]
            totals.append(sum(row))
            shares.append([v / totals[-1] if totals[-1] else 0.0 for v in row])
        total_n = sum(totals)
        ys = list(range(len(models)))
        left = [0.0] * len(models)
        for score in range(1, 6):  # one bar container per score (not per model and score)
            width = [row[score - 1] for row in shares]
            ax.barh(
                ys,
                width,
                left=left,
                color=SCORE_COLOURS[score - 1],
                edgecolor="#555",
                linewidth=0.3,
                label=str(score),
            )
            left = [a + b for a, b in zip(left, width, strict=True)]
        for y, total in enumerate(totals):
            ax.text(1.02, y, f"n={total}", va="center", fontsize=7, color="#444", clip_on=False)
        ax.set_title(f"{dim} (n={total_n})")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of ratings")
    axes[0].set_yticks(range(len(models)), [_label(m, labels) for m in models])
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, title="score", loc="lower center", ncol=5, fontsize=7, frameon=False)
    bottom = min(0.3, 0.9 / (0.45 * len(models) + 2.0))  # room for the legend, in inches
    return _save(fig, out, "ratings", "Distribution of 1-5 ratings per model", (0, bottom, 1, 1))


def pass_rate_figure(
    points: Sequence[tuple[str, float, float | None, float | None, str | None]],
    out: Path,
    sizes: Sequence[int] | None = None,
    labels: dict[str, str] | None = None,
) -> FigureFile | None:
    """``points``: (model, pass rate, ci low, ci high, note), the first at the top; a point
    without an interval (too few runs) shows its note ("n too small (n=3 < 5)") instead of error
    bars. ``sizes``: each point's n (answers run against tests), shown after the model's name."""
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(points) + 1.6))
    rows = list(reversed(points))
    counts = list(reversed(sizes)) if sizes is not None else None
    interval_shown = False
    for y, (_, rate, low, high, note) in enumerate(rows):
        ax.barh(y, rate, color="#4d9221", alpha=0.8, label="pass rate" if y == 0 else None)
        if low is not None and high is not None:
            ax.errorbar(
                rate,
                y,
                xerr=[[rate - low], [high - rate]],
                color="black",
                capsize=3,
                label=None if interval_shown else "95% Wilson interval",
            )
            interval_shown = True
        elif note:
            ax.text(min(rate + 0.02, 0.7), y, note, va="center", fontsize=7, color="#444")
    names = [_label(p[0], labels) for p in rows]
    if counts is not None:
        names = [f"{name} (n={n})" for name, n in zip(names, counts, strict=True)]
    ax.set_yticks(range(len(rows)), names)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "share of the answers run against tests that passed (95% Wilson interval);"
        "\nruns without tests (verdict ran) are left out"
    )
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return _save(fig, out, "pass_rates", "Pass rate of generated code per model")


def _rho_title(title: str, corr: dict[str, Any] | None) -> str:
    if not corr:
        return title
    rho = corr.get("rho")
    text = "rho n/a" if rho is None else f"rho = {rho:.2f}"
    return f"{title}\n(Spearman {text}, n = {corr.get('n', 0)})"


def human_vs_objective_figure(
    points: Sequence[tuple[float, float, float | None]],
    out: Path,
    correlations: dict[str, dict[str, Any]] | None = None,
) -> FigureFile | None:
    """``points``: per generation (mean correctness rating, passed 0/1, findings per 100 lines);
    ``correlations``: the per-generation Spearman rows by objective (``pass``,
    ``findings_per_100_lines``), whose rho and n head each panel."""
    if len(points) < 2:
        return None
    correlations = correlations or {}
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    # deterministic jitter so that equal (verdict, rating) pairs do not hide each other
    jitter_x = [((i * 37) % 21 - 10) / 60 for i in range(len(points))]
    jitter_y = [((i * 53) % 13 - 6) / 50 for i in range(len(points))]
    left.scatter(
        [p[1] + j for p, j in zip(points, jitter_x, strict=True)],
        [p[0] + j for p, j in zip(points, jitter_y, strict=True)],
        s=14,
        color=COLOUR,
        alpha=0.6,
        label=f"answers (n={len(points)})",
    )
    left.set_xticks([0, 1], ["failed", "passed"])
    left.set_xlim(-0.6, 1.6)
    left.set_ylabel("mean correctness rating")
    left.set_xlabel("test verdict (jittered)")
    left.set_title(_rho_title("rating vs test verdict", correlations.get("pass")), fontsize=9)
    left.legend(loc="lower right", fontsize=7, frameon=False)
    with_findings = [(r, f) for r, _, f in points if f is not None]
    right.scatter(
        [f for _, f in with_findings],
        [r for r, _ in with_findings],
        s=14,
        color="#b35806",
        alpha=0.7,
        label=f"answers (n={len(with_findings)})",
    )
    right.set_xlabel("findings per 100 lines")
    right.set_title(
        _rho_title("rating vs static findings", correlations.get("findings_per_100_lines")),
        fontsize=9,
    )
    right.legend(loc="lower right", fontsize=7, frameon=False)
    return _save(
        fig,
        out,
        "human_vs_objective",
        "Human ratings against objective measurements, per generation",
    )


def survey_figure(
    number: int, text: str, counts: dict[str, int], out: Path, answered: int | None = None
) -> FigureFile | None:
    """A question's counts as bars with integer ticks, each labelled with its count and its
    percentage of the N respondents who answered."""
    if not counts or not any(counts.values()):
        return None
    total = answered or sum(counts.values())
    keys = list(counts)
    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(keys) + 1.2))
    ax.barh(range(len(keys)), [counts[k] for k in keys], color="#5e3c99")
    ax.set_yticks(range(len(keys)), keys)
    ax.invert_yaxis()
    top = max(counts.values())
    for y, key in enumerate(keys):
        share = 100 * counts[key] / total if total else 0.0
        ax.text(
            counts[key] + top * 0.01, y, f"{counts[key]} ({share:.0f}%)", va="center", fontsize=7
        )
    ax.set_xlim(0, top * 1.18 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"respondents (N = {total}; % of N)")
    ax.set_title("\n".join(textwrap.wrap(f"Q{number}. {text}", 70)), fontsize=9)
    return _save(fig, out, f"survey_q{number}", f"Q{number}. {text}")


def repair_curve_figure(
    rows: Sequence[dict[str, Any]], max_round: int, out: Path
) -> FigureFile | None:
    """The pass rate by repair round per model (round 0: the first answer, unchanged), each
    model's legend entry with its n (conversations whose first answer was run against tests)."""
    drawn = [r for r in rows if r["by_round"] and r["by_round"][0]["n"]]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    xs = list(range(max_round + 1))
    for row in drawn:
        rates = [point["rate"] for point in row["by_round"]]
        ax.plot(
            xs,
            rates,
            marker="o",
            linewidth=1.2,
            label=f"{row['label']} (n={row['by_round'][0]['n']})",
        )
    ax.set_xticks(xs, ["first answer" if x == 0 else f"repair {x}" for x in xs])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("repair round (the failure sent back to the model)")
    ax.set_ylabel("share passed by this round")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _save(fig, out, "repair_rounds", "Pass rate by repair round per model")
