"""Conversations and correction cost: how much work a model's answer needed before it worked.

From the study's own rows (``load.load_study``, through ``store.study_rows``), per model:

* **passed with no change**: of the first answers (turn 1, kind ``answer``, status ``ok``) run
  against tests, the share whose latest run against tests passed (the pass rate's rule,
  ``figures.latest_verdict``: a run without tests, verdict ``ran``, is neither);
* **pass rate by repair round**: a conversation is a first answer and the later turns chained
  to it by ``parent_id``; repair round k is its k-th generation of kind ``repair``. At round k a
  conversation counts as passed when its first answer or one of its first k repairs passed its
  tests (cumulative, as ``suites``' pass-at-round); one that stopped earlier keeps its last
  result. The denominator is every conversation whose first answer was run against tests;
* **fixed by hand**: the share, median active time and median lines changed of
  ``studies.fixes.fix_summary`` (reused as it is), with a seeded percentile-bootstrap interval of
  the median active time of the ``done`` attempts (from ``stats.MIN_INTERVAL_N`` attempts on);
* **turns per conversation**: mean and largest number of turns;
* Spearman's rho of the measured active time of each done fix against the same participant's
  own estimate of the minutes to make that answer usable (``ratings.minutes_to_usable``) and
  against the same participant's 1-5 ratings of it, with n and a bootstrap interval, none
  ("n too small") below ``stats.MIN_INTERVAL_N`` pairs.

Per output language and task category, per model: the share passed unchanged and the share
fixed by hand (done attempts of the answers with code, ``fix_summary``'s rule).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from codearena import stats
from codearena.analysis.figures import DIMENSIONS, MINUTES, latest_verdict
from codearena.analysis.load import StudyData
from codearena.store.models import Execution, Generation

if TYPE_CHECKING:
    from codearena.studies.fixes import ModelFixes

GROUP_KEYS = ("language", "category")


def _root(generation: Generation, by_id: dict[str, Generation]) -> Generation:
    seen = {generation.id}
    current = generation
    while current.parent_id and current.parent_id in by_id and current.parent_id not in seen:
        current = by_id[current.parent_id]
        seen.add(current.id)
    return current


def _median_rows(samples: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.median(samples, axis=1), dtype=float)


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def model_labels(data: StudyData) -> dict[str, str]:
    """Each model id's display label as stored with its generations (the id when none)."""
    labels: dict[str, str] = {}
    for generation in data.generations.values():
        if generation.label and generation.model not in labels:
            labels[generation.model] = generation.label
    return {m: labels.get(m, m) for m in [*data.study.models, *labels]}


def correction_cost(
    data: StudyData, fixes: Sequence[ModelFixes], *, rounds: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The section's figures, JSON-ready (see the module's docstring); ``fixes`` is
    ``studies.fixes.fix_summary`` of the same study."""
    by_id = dict(data.generations)
    runs: defaultdict[str, list[Execution]] = defaultdict(list)
    for execution in data.executions:
        runs[execution.generation_id].append(execution)
    chains: defaultdict[str, list[Generation]] = defaultdict(list)
    for generation in by_id.values():
        chains[_root(generation, by_id).id].append(generation)
    order = [str(m) for m in data.study.models]
    per_model: dict[str, dict[str, Any]] = {}
    # per (group, model): [tested first answers, passed unchanged, answers with code, fixed]
    grouped: dict[str, defaultdict[tuple[str, str], list[int]]] = {
        key: defaultdict(lambda: [0, 0, 0, 0]) for key in GROUP_KEYS
    }

    def groups_of(task_id: str) -> list[tuple[str, str]]:
        task = data.tasks.get(task_id)
        return [
            ("language", (task.output_language if task else None) or "(none)"),
            ("category", (task.category if task else None) or "(none)"),
        ]

    fixed_ids = {f.generation_id for f in data.fixes if f.outcome == "done"}
    for generation in by_id.values():
        if generation.status == "ok" and generation.code:  # fix_summary's answers with code
            for key, value in groups_of(generation.task_id):
                cell = grouped[key][(value, generation.model)]
                cell[2] += 1
                cell[3] += int(generation.id in fixed_ids)
    max_round = 0
    curves: defaultdict[str, list[list[bool]]] = defaultdict(list)
    for root_id, chain in chains.items():
        root = by_id[root_id]
        if root.status != "ok" or (root.kind or "answer") != "answer":
            continue
        row = per_model.setdefault(
            root.model, {"answers": 0, "tested": 0, "passed_first": 0, "turns": []}
        )
        row["answers"] += 1
        row["turns"].append(max(g.turn or 1 for g in chain))
        first = latest_verdict(runs[root.id])
        if first is None:
            continue
        row["tested"] += 1
        row["passed_first"] += int(first)
        for key, value in groups_of(root.task_id):
            cell = grouped[key][(value, root.model)]
            cell[0] += 1
            cell[1] += int(first)
        repairs = sorted((g for g in chain if g.kind == "repair"), key=lambda g: (g.turn, g.id))
        passed = first
        curve = [passed]
        for repair in repairs:
            passed = passed or bool(latest_verdict(runs[repair.id]))
            curve.append(passed)
        max_round = max(max_round, len(repairs))
        curves[root.model].append(curve)
    fix_of = {f.model: f for f in fixes}
    done_by_model: defaultdict[str, list[float]] = defaultdict(list)
    model_of = {g.id: g.model for g in by_id.values()}
    for fix in data.fixes:
        if fix.outcome == "done" and fix.generation_id in model_of:
            done_by_model[model_of[fix.generation_id]].append(float(fix.active_seconds or 0.0))
    labels = model_labels(data)
    models = list(dict.fromkeys([*order, *per_model, *fix_of]))
    rows = []
    for model in models:
        row = per_model.get(model, {"answers": 0, "tested": 0, "passed_first": 0, "turns": []})
        if not row["answers"] and model not in fix_of:
            continue
        curve_rows = curves.get(model, [])
        by_round = []
        for k in range(max_round + 1):
            n = len(curve_rows)
            ok = sum(1 for c in curve_rows if c[min(k, len(c) - 1)])
            by_round.append({"round": k, "n": n, "passed": ok, "rate": _share(ok, n)})
        done = done_by_model.get(model, [])
        note = stats.too_few(len(done))
        interval = (
            None if note else stats.bootstrap_interval(done, _median_rows, rounds=rounds, seed=seed)
        )
        summary = fix_of.get(model)
        turns = row["turns"]
        rows.append(
            {
                "model": model,
                "label": labels.get(model, model),
                "answers": row["answers"],
                "tested": row["tested"],
                "passed_first": row["passed_first"],
                "passed_first_share": _share(row["passed_first"], row["tested"]),
                "by_round": by_round,
                "conversations": len(turns),
                "mean_turns": float(np.mean(turns)) if turns else None,
                "max_turns": max(turns) if turns else None,
                "answers_with_code": summary.answers if summary else 0,
                "fix_attempts": summary.attempts if summary else 0,
                "fixed": summary.done if summary else 0,
                "fixed_share": summary.fixed_share if summary else None,
                "median_active_s": summary.median_active_s if summary else None,
                "active_ci_low": None if interval is None else interval[0],
                "active_ci_high": None if interval is None else interval[1],
                "active_ci_note": note,
                "median_lines_changed": summary.median_lines_changed if summary else None,
            }
        )
    rank = {m: i for i, m in enumerate(models)}
    by_group = {
        key: {
            group: [
                {
                    "model": m,
                    "tested": n,
                    "passed_first": k,
                    "share": _share(k, n),
                    "answers_with_code": coded,
                    "fixed": fixed,
                    "fixed_share": _share(fixed, coded),
                }
                for (g, m), (n, k, coded, fixed) in sorted(
                    cells.items(), key=lambda c: rank.get(c[0][1], len(rank))
                )
                if g == group
            ]
            for group in sorted({g for g, _ in cells}, key=lambda g: (g == "(none)", g))
        }
        for key, cells in grouped.items()
        if cells
    }
    return {
        "models": rows,
        "max_round": max_round,
        "by_group": by_group,
        "correlations": _correlations(data, rounds=rounds, seed=seed),
    }


def _correlations(data: StudyData, *, rounds: int, seed: int) -> list[dict[str, Any]]:
    """Measured active minutes of each done fix against the same participant's rating of the
    same answer."""
    own = {(r.participant_id, r.generation_id): r for r in data.ratings if r.generation_id}
    pairs: list[tuple[float, Any]] = []
    for fix in data.fixes:
        rating = own.get((fix.participant, fix.generation_id))
        if fix.outcome == "done" and rating is not None:
            pairs.append((float(fix.active_seconds or 0.0) / 60.0, rating))
    out = []
    for name in (MINUTES, *DIMENSIONS):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for minutes, rating in pairs:
            value = getattr(rating, name)
            if value is not None:
                xs.append(minutes)
                ys.append(float(value))
        corr: dict[str, Any] = stats.spearman_with_ci(xs, ys, rounds=rounds, seed=seed).to_dict()
        note = stats.too_few(len(xs))
        if note:
            corr = {**corr, "rho": None, "p_value": None, "ci_note": note}
        out.append({"with": name, **corr})
    return out


__all__ = ["correction_cost", "model_labels"]
