"""The latency figure: each route's TTFT and total latency side by side (PNG and SVG)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from codearena.experiments.latency import Sample


def _wrapped(label: str, width: int = 18, lines: int = 3) -> str:
    """A route on up to ``lines`` lines, broken after ``:`` and ``/`` where it can be."""
    parts = textwrap.wrap(label.replace(":", ": ").replace("/", "/ "), width) or [label]
    parts = [p.replace(": ", ":").replace("/ ", "/") for p in parts]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], "…" + parts[-1][-(width - 1) :]]
    return "\n".join(parts)


def latency_figure(routes: Sequence[str], samples: Sequence[Sample], out: Path) -> list[Path]:
    """Two panels (time to first token, total latency): per route a box plot of its successful
    calls with every call as a dot, labelled with the route and its n; written to
    ``out/latency.png`` and ``out/latency.svg``."""
    fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 2.6 * len(routes)), 4.4), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, key, title in zip(
        axes[0], ("ttft_ms", "latency_ms"), ("Time to first token", "Total latency"), strict=True
    ):
        series = []
        for route in routes:
            values = [
                getattr(s, key)
                for s in samples
                if s.route == route and s.status == "ok" and getattr(s, key) is not None
            ]
            series.append(values)
        positions = list(range(1, len(routes) + 1))
        drawn = [(p, v) for p, v in zip(positions, series, strict=True) if v]
        if drawn:
            ax.boxplot(
                [v for _, v in drawn],
                positions=[p for p, _ in drawn],
                widths=0.5,
                showfliers=False,
                medianprops={"color": "black"},
            )
        for position, values in zip(positions, series, strict=True):
            if values:
                jitter = rng.uniform(-0.12, 0.12, size=len(values))
                ax.scatter(np.full(len(values), position) + jitter, values, s=8, alpha=0.45)
        ax.set_xticks(positions)
        failed = [sum(1 for s in samples if s.route == r and s.status != "ok") for r in routes]
        ax.set_xticklabels(
            [
                f"{_wrapped(r)}\nn={len(v)}" + (f" ({f} failed)" if f else "")
                for r, v, f in zip(routes, series, failed, strict=True)
            ],
            fontsize=7,
        )
        ax.set_xlim(0.4, len(routes) + 0.6)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("milliseconds")
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    fig.suptitle("Latency by route (successful calls; n per route)", fontsize=10)
    fig.tight_layout()
    png, svg = out / "latency.png", out / "latency.svg"
    fig.savefig(png, dpi=150)
    fig.savefig(svg)
    plt.close(fig)
    return [png, svg]
