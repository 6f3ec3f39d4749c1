"""``codearena report``: a study's tables and figures as a self-contained HTML (or Markdown) report.

The numbers come from ``analysis.analyse_data`` (and ``analysis.style`` with ``control``), ``survey.summary.summarize_survey`` and
``coding.codebook``: the report computes nothing of its own, so the dashboard, the JSON API and
the report always agree.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from codearena import __version__, stats
from codearena.analysis import analyse_data, display, load_study
from codearena.analysis.lengths import length_effects
from codearena.analysis.style import Control, controlled_board
from codearena.coding import codebook
from codearena.judging.run import study_judges
from codearena.reports import figures
from codearena.reports.figures import FigureFile
from codearena.reports.methods import methods_paragraph, plural
from codearena.stats.bradley_terry import BothBad
from codearena.stats.resampling import Bootstrap
from codearena.store import Store
from codearena.survey.summary import summarize_survey

TEMPLATES = Path(__file__).parent / "templates"
DASH = display.DASH  # an en dash, for empty cells and ranges
FORMATS = ("html", "md")


@dataclass(frozen=True)
class Report:
    path: Path
    figures: list[FigureFile]


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(low: Any, high: Any, digits: int = 2, note: str | None = None) -> str:
    """An interval, its ends joined by an en dash; the note ("n too small (n=2 < 5)") when it
    was not computed."""
    if low is None or high is None:
        return note or DASH
    return f"{_num(low, digits)} {DASH} {_num(high, digits)}"


def _progress(progress: dict[str, Any]) -> list[tuple[str, str]]:
    """The progress figures; amounts in US dollars written as on the dashboard
    (``display.usd``, 4 significant digits)."""
    rows = []
    for key, value in progress.items():
        if key.endswith("_usd"):
            rows.append((key.removesuffix("_usd").replace("_", " "), display.usd(value)))
        else:
            rows.append((key.replace("_", " "), _num(value)))
    return rows


def _counts_rows(counts: dict[str, int], answered: int) -> list[tuple[str, int, str]]:
    return [
        (label, n, f"{100 * n / answered:.1f}" if answered else DASH) for label, n in counts.items()
    ]


def _rating_rows(ratings: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, str]]:
    rows = []
    for model, dims in ratings.items():
        for dim, s in dims.items():
            if s.get("n"):
                rows.append(
                    {
                        "model": model,
                        "dimension": dim.replace("_", " "),
                        "n": str(s["n"]),
                        "mean": _num(s.get("mean")),
                        "median": _num(s.get("median")),
                        "interval": _interval(
                            s.get("ci_low"), s.get("ci_high"), note=s.get("ci_note")
                        ),
                    }
                )
    return rows


OBJECTIVE_COLUMNS = (
    ("tasks", "answers"),
    ("executed", "n with tests"),
    ("pass_rate", "pass rate"),
    ("pass_ci", "95% Wilson"),
    ("findings_per_100_lines", "findings / 100 lines"),
    ("median_ttft_s", "median TTFT s"),
    ("median_latency_s", "median latency s"),
    ("tokens_per_task", "tokens / answer"),
    ("cost_per_task_usd", "USD / answer"),
    ("minutes_to_fix_per_task", "minutes to fix"),
)


def _objective(objective: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["model", *(label for _, label in OBJECTIVE_COLUMNS)]
    rows = []
    for model, o in objective.items():
        cells = [model]
        for key, _ in OBJECTIVE_COLUMNS:
            if key == "pass_ci":
                note = o.get("pass_ci_note") if o.get("executed") else None
                cells.append(_interval(o.get("pass_ci_low"), o.get("pass_ci_high"), note=note))
            elif key == "cost_per_task_usd":
                cells.append(display.usd_amount(o.get(key)))
            else:
                cells.append(_num(o.get(key)))
        rows.append(cells)
    return header, rows


def _coding_rows(store: Store, study_id: str) -> list[dict[str, Any]]:
    book = codebook(store, study_id)
    rows: list[dict[str, Any]] = []
    for category in book.categories:
        for concept in category.concepts:
            for code in concept.codes:
                rows.append(
                    {
                        "category": category.name,
                        "concept": concept.name,
                        "code": code.name,
                        "answers": code.count,
                    }
                )
    for concept in book.ungrouped_concepts:
        for code in concept.codes:
            rows.append(
                {
                    "category": DASH,
                    "concept": concept.name,
                    "code": code.name,
                    "answers": code.count,
                }
            )
    for code in book.ungrouped_codes:
        rows.append({"category": DASH, "concept": DASH, "code": code.name, "answers": code.count})
    return rows


def _lengths(rows: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Pass rate against description length, a row per model (``analysis.lengths``)."""
    return [
        {
            "model": labels.get(r["model"], r["model"]),
            "n": f"{r['passed']} of {r['n']}",
            "range": f"{r['shortest']:.0f}-{r['longest']:.0f}",
            "odds": _num(r["odds_per_doubling"]),
            "slope_interval": _interval(
                None if r["slope_ci_low"] is None else math.exp(r["slope_ci_low"]),
                None if r["slope_ci_high"] is None else math.exp(r["slope_ci_high"]),
                note=r["note"] if r["slope"] is None else None,
            ),
            "l50": "-" if r["l50"] is None else f"{r['l50']:.0f}",
            "l50_interval": _interval(r["l50_ci_low"], r["l50_ci_high"], digits=0, note=r["note"]),
        }
        for r in rows
    ]


def _judges(reports: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The LLM judges' agreement with the votes, a row per judge and variant."""
    rows = []
    for report in reports:
        for v in report["variants"]:
            kappa = v["kappa"]
            rows.append(
                {
                    "judge": labels.get(report["judge"], report["judge"]),
                    "variant": "with execution" if v["with_execution"] else "without execution",
                    "n": f"{v['n']} of {v['battles']}",
                    "accuracy": _num(v["accuracy"]),
                    "kappa": _num(kappa["value"]),
                    "interval": _interval(kappa["ci_low"], kappa["ci_high"], note=kappa["note"]),
                    "consistency": _num(v["position_consistency"]),
                    "decisive": f"{_num(v['decisive']['accuracy'])} (n = {v['decisive']['n']})",
                }
            )
    return rows


def _style(board: dict[str, Any] | None) -> dict[str, Any] | None:
    """The style-control section: its rows, and each coefficient with its interval."""
    if board is None:
        return None
    coefficients = [
        {
            "name": name,
            "value": _num(c["value"], 3),
            "interval": _interval(c["ci_low"], c["ci_high"], 3, note=c.get("note")),
            "rms": _num(c["rms"], 3),
        }
        for name, c in board["coefficients"].items()
    ]
    return {**board, "coefficient_rows": coefficients}


def _ordered(objective: dict[str, dict[str, Any]], order: Sequence[str]) -> list[str]:
    """The objective table's models in the leaderboard's order, then the rest."""
    return [m for m in order if m in objective] + [m for m in objective if m not in order]


def _figures(
    analysis: dict[str, Any],
    survey: dict[str, Any],
    corrections: dict[str, Any],
    out: Path,
) -> tuple[list[FigureFile], dict[int, FigureFile]]:
    labels = analysis.get("labels") or {}
    order = [r["model"] for r in analysis["leaderboard"]]
    objective = analysis["objective"]
    measured = [m for m in _ordered(objective, order) if objective[m].get("pass_rate") is not None]
    per_generation = {
        c["objective"]: c
        for c in analysis["human_vs_objective"]
        if c["scope"] == "generation" and c["rating"] == "correctness"
    }
    made: list[FigureFile | None] = [
        figures.leaderboard_figure(analysis["leaderboard"], out, labels),
        figures.winrate_figure(
            analysis["win_matrix"]["models"],
            analysis["win_matrix"]["matrix"],
            out,
            labels,
            analysis["win_matrix"].get("battles"),
        ),
        figures.ratings_figure(analysis["ratings"], out, labels, order),
        figures.pass_rate_figure(
            [
                (
                    m,
                    objective[m]["pass_rate"],
                    objective[m]["pass_ci_low"],
                    objective[m]["pass_ci_high"],
                    objective[m].get("pass_ci_note"),
                )
                for m in measured
            ],
            out,
            sizes=[int(objective[m]["executed"]) for m in measured],
            labels=labels,
        ),
        figures.human_vs_objective_figure(
            [
                (p["correctness"], float(p["passed"]), p.get("findings_per_100_lines"))
                for p in analysis.get("generation_points", [])
                if p.get("correctness") is not None and p.get("passed") is not None
            ],
            out,
            per_generation,
        ),
        figures.repair_curve_figure(corrections["models"], corrections["max_round"], out)
        if corrections["max_round"]
        else None,
    ]
    per_question: dict[int, FigureFile] = {}
    for q in survey["questions"]:
        if q["type"] in ("single", "multi", "rating") and q.get("counts"):
            fig = figures.survey_figure(
                q["number"], q["text"], _survey_counts(q), out, answered=q.get("answered")
            )
            if fig is not None:
                per_question[q["number"]] = fig
    return [f for f in made if f is not None], per_question


YES_NO = {"yes", "no"}


def _survey_counts(question: dict[str, Any]) -> dict[str, int]:
    """A question's counts as the report shows them: a rating or yes/no question has no "Other"
    row (its answers that are no valid choice, if any, are a row "not a valid answer")."""
    counts = dict(question.get("counts") or {})
    options = {str(o).strip().casefold() for o in counts}
    closed = question["type"] == "rating" or (options - {"other"}) <= YES_NO
    if not closed:
        return counts
    other = [k for k in counts if k.strip().casefold() == "other"]
    for key in other:
        n = counts.pop(key)
        if n:
            counts["not a valid answer"] = n
    return counts


BREAKDOWN_TITLES = {
    "language": "output language",
    "category": "task category",
    "experience": "experience",
    "role": "role",
}


def _board_warnings(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The leaderboard's warnings (separation, disconnected groups) and a small-n warning for
    each model with fewer than ``stats.MIN_INTERVAL_N`` battles."""
    sentences = display.warning_sentences(rows)
    for r in rows:
        if 0 < int(r.get("battles") or 0) < stats.MIN_INTERVAL_N:
            sentences.append(
                f"{r['model']} has only {plural(int(r['battles']), 'battle')} (fewer than "
                f"{stats.MIN_INTERVAL_N}): its interval and rank rest on very few votes."
            )
    return sentences


def _breakdown_tables(
    breakdowns: dict[str, dict[str, dict[str, Any]]], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """One table per breakdown key: per group and model, the leaderboard row, the correctness
    ratings and the pass rate, with the group boards' warnings."""
    tables = []
    for key, groups in breakdowns.items():
        rows: list[dict[str, Any]] = []
        warnings: list[str] = []
        for name, parts in groups.items():
            board = {r["model"]: r for r in parts["leaderboard"]}
            ratings, objective = parts["ratings"], parts["objective"]
            for model in dict.fromkeys([*board, *ratings, *objective]):
                b = board.get(model)
                r = (ratings.get(model) or {}).get("correctness") or {}
                o = objective.get(model) or {}
                executed = int(o.get("executed") or 0)
                rows.append(
                    {
                        "group": name,
                        "model": model,
                        "label": labels.get(model, model),
                        "battles": b["battles"] if b else 0,
                        "rating": display.board_rating(b, "%.1f") if b else DASH,
                        "interval": display.board_interval(b, "%.1f") if b else DASH,
                        "warn": bool(b and b.get("warnings")),
                        "ratings": r.get("n") or 0,
                        "correctness": _num(r.get("mean")),
                        "correctness_ci": _interval(
                            r.get("ci_low"), r.get("ci_high"), note=r.get("ci_note")
                        )
                        if r.get("n")
                        else DASH,
                        "pass": f"{o.get('passed', 0)}/{executed}" if executed else DASH,
                        "pass_rate": _num(o.get("pass_rate")),
                    }
                )
            warnings += [f"{name}: {w}" for w in _board_warnings(parts["leaderboard"])]
        if rows:
            tables.append(
                {
                    "key": key,
                    "title": BREAKDOWN_TITLES.get(key, key),
                    "rows": rows,
                    "warnings": warnings,
                }
            )
    return tables


def _p(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _inference(result: dict[str, Any], labels: dict[str, str]) -> dict[str, Any] | None:
    """The mixed-model tables (``codearena analyze``): each dimension's model effects and
    intraclass correlations, the participant-clustered pass rates, the pairwise comparisons and
    the warnings; None when nothing could be fitted."""
    dimensions = []
    for dimension, fit in result["ratings"].items():
        effects = [
            {
                "model": e["model"],
                "label": labels.get(e["model"], e["model"]),
                "estimate": _num(e["estimate"], 3),
                "interval": _interval(e["ci_low"], e["ci_high"], 3),
            }
            for e in fit["model_effects"]
        ]
        if any(e["estimate"] != DASH for e in effects):
            dimensions.append(
                {
                    "dimension": dimension.replace("_", " "),
                    "n": fit["n"],
                    "effects": effects,
                    "icc_participant": _num(fit["icc"].get("participant"), 3),
                    "icc_task": _num(fit["icc"].get("task"), 3),
                }
            )
    pass_fail = [
        {
            "model": m["model"],
            "label": labels.get(m["model"], m["model"]),
            "n": m["n"],
            "passed": m["passed"],
            "estimate": _num(m["estimate"]),
            "interval": _interval(m["ci_low"], m["ci_high"]),
        }
        for m in result["pass_fail"]["models"]
    ]
    pairwise = [
        {
            "kind": p["kind"],
            "dimension": (p["dimension"] or "votes").replace("_", " "),
            "a": p["a"],
            "b": p["b"],
            "n": p["n"],
            "effect": _num(p["effect"], 3),
            "effect_size": _num(p["effect_size"], 3),
            "p": _p(p["p"]),
            "p_holm": _p(p["p_holm"]),
        }
        for p in result["pairwise"]
    ]
    if not dimensions and not pairwise and not any(m["estimate"] != DASH for m in pass_fail):
        return None
    return {
        "dimensions": dimensions,
        "pass_fail": pass_fail,
        "clusters": result["pass_fail"]["clusters"],
        "pairwise": pairwise,
        "warnings": list(dict.fromkeys(result["warnings"])),
    }


def _seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f} s"


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.0f}%"


def _corrections(corrections: dict[str, Any]) -> dict[str, Any] | None:
    """The conversations and correction-cost section; None when the study has no answers."""
    rows = []
    for m in corrections["models"]:
        interval = (
            f"{m['active_ci_low']:.0f} {DASH} {m['active_ci_high']:.0f} s"
            if m["active_ci_low"] is not None
            else (m["active_ci_note"] if m["fixed"] else DASH)
        )
        rows.append(
            {
                **m,
                "first": f"{m['passed_first']}/{m['tested']}" if m["tested"] else DASH,
                "first_share": _pct(m["passed_first_share"]),
                "rounds": [
                    f"{_pct(r['rate'])} ({r['passed']}/{r['n']})" if r["n"] else DASH
                    for r in m["by_round"]
                ],
                "fixed_text": f"{m['fixed']}/{m['answers_with_code']}"
                if m["answers_with_code"]
                else DASH,
                "fixed_share_text": _pct(m["fixed_share"]),
                "active": _seconds(m["median_active_s"]),
                "active_interval": interval,
                "lines": _num(m["median_lines_changed"], 1),
                "turns": _num(m["mean_turns"], 2),
            }
        )
    if not rows:
        return None
    groups = [
        {
            "key": BREAKDOWN_TITLES.get(key, key),
            "rows": [
                {
                    **cell,
                    "group": group,
                    "share_text": _pct(cell["share"]),
                    "fixed_share_text": _pct(cell["fixed_share"]),
                }
                for group, cells in by_group.items()
                for cell in cells
            ],
        }
        for key, by_group in corrections["by_group"].items()
    ]
    return {
        "rows": rows,
        "round_headers": [
            "first answer" if k == 0 else f"by repair {k}"
            for k in range(corrections["max_round"] + 1)
        ],
        "max_round": corrections["max_round"],
        "groups": groups,
        "correlations": [
            {
                "with": c["with"].replace("_", " "),
                "rho": _num(c["rho"]),
                "interval": _interval(c["ci_low"], c["ci_high"], note=c.get("ci_note")),
                "n": c["n"],
            }
            for c in corrections["correlations"]
        ],
    }


def build_report(
    store: Store,
    study_id: str,
    out: Path,
    fmt: str = "html",
    *,
    rounds: int = 1000,
    seed: int = 0,
    bootstrap: Bootstrap = "participants",
    control: Control | None = None,
    include_imported: bool = True,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
) -> Report:
    """Write the report (and its figures as PNG and SVG) into ``out``. ``bootstrap`` is what
    the leaderboards' intervals resample; ``control`` adds the style-controlled leaderboard and
    its coefficients (``analysis.style``); the vote options are the leaderboard's (imported
    votes counted or not, "both bad" as a tie or dropped, self-identified votes counted or not),
    and the methods paragraph says which were used."""
    from codearena.analysis.corrections import correction_cost
    from codearena.analysis.inference import analyze_data
    from codearena.studies.fixes import fix_summary

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use html or md")
    out.mkdir(parents=True, exist_ok=True)
    data = load_study(store, study_id)
    # the mixed models (statsmodels, seconds for a large study, most of it in numpy's linear
    # algebra, which releases the interpreter's lock) are fitted in a thread while the rest is
    # computed and matplotlib draws the figures; a forked process measured no faster
    with ThreadPoolExecutor(max_workers=1) as pool:
        fitting = pool.submit(analyze_data, store, data)
        analysis = analyse_data(
            data,
            rounds=rounds,
            seed=seed,
            bootstrap=bootstrap,
            include_imported=include_imported,
            both_bad=both_bad,
            include_flagged=include_flagged,
        ).to_dict()
        style = (
            None
            if control is None
            else controlled_board(data, control, rounds=rounds, seed=seed, bootstrap=bootstrap)
        )
        survey = summarize_survey(store, study_id).to_dict()
        corrections = correction_cost(data, fix_summary(store, study_id), rounds=rounds, seed=seed)
        main_figures, survey_figures = _figures(analysis, survey, corrections, out)
        inference = fitting.result()
    labels = analysis["labels"]
    all_figures = main_figures + list(survey_figures.values())
    order = [r["model"] for r in analysis["leaderboard"]]
    objective = {m: analysis["objective"][m] for m in _ordered(analysis["objective"], order)}
    objective_header, objective_rows = _objective(objective)
    questions = []
    for q in survey["questions"]:
        counts = _survey_counts(q)
        questions.append(
            {
                **q,
                "counts": counts,
                "rows": _counts_rows(counts, q["answered"]) if q["type"] != "text" else [],
                "figure": survey_figures.get(q["number"]),
                "mean": None if q.get("mean") is None else _num(q["mean"]),
                "answers": sorted(q.get("answers") or []),
            }
        )
    demographic = [q for q in questions if q.get("section") == "Demographic" and q["rows"]]
    context = {
        "version": __version__,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "study": analysis["study"],
        "labels": labels,
        "progress": _progress(analysis["progress"]),
        "participant_tables": [{"title": q["text"], "rows": q["rows"]} for q in demographic],
        "leaderboard": analysis["leaderboard"],
        "leaderboard_warnings": _board_warnings(analysis["leaderboard"]),
        "grouped": len({r.get("group", 1) for r in analysis["leaderboard"]}) > 1,
        "breakdowns": _breakdown_tables(analysis["breakdowns"], labels),
        "inference": _inference(inference, labels),
        "rating_rows": _rating_rows(analysis["ratings"]),
        "objective_header": objective_header,
        "objective_rows": objective_rows,
        "correlations": [
            {
                **c,
                "rho": _num(c.get("rho")),
                "interval": _interval(c.get("ci_low"), c.get("ci_high"), note=c.get("ci_note")),
            }
            for c in analysis["human_vs_objective"]
            if c.get("n")
        ],
        "agreement": [(d, _num(a, 3)) for d, a in analysis["agreement"].items()],
        "corrections": _corrections(corrections),
        "survey": survey,
        "survey_questions": questions,
        "coding": _coding_rows(store, study_id),
        "methods": methods_paragraph(analysis, survey, style),
        "bootstrap": bootstrap,
        "style": _style(style),
        "judges": _judges(study_judges(store, study_id, rounds=rounds, seed=seed), labels),
        "lengths": _lengths(
            sorted(
                length_effects(data, rounds=rounds, seed=seed),
                key=lambda r: order.index(r["model"]) if r["model"] in order else len(order),
            ),
            labels,
        ),
        "figures": main_figures,
    }
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        keep_trailing_newline=True,
    )
    env.filters.update(display.FILTERS)  # the dashboard's formatters
    if fmt == "html":
        context["embedded"] = {
            f.name: base64.b64encode((out / f.png).read_bytes()).decode("ascii")
            for f in all_figures
        }
        path = out / "report.html"
        path.write_text(env.get_template("report.html").render(**context), encoding="utf-8")
    else:
        md_env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=False, keep_trailing_newline=True
        )
        md_env.filters.update(display.FILTERS)
        md_env.filters["cell"] = _md_cell
        path = out / "report.md"
        path.write_text(md_env.get_template("report.md").render(**context), encoding="utf-8")
    return Report(path, all_figures)


MD_SPECIAL = re.compile(r"([\\`*_\[\]~|])")
MD_BLOCK = re.compile(r"^(\s*|\s*\d+)([#+-]|(?<=\d)[.)])(?=\s|$)")
"""A line start that would open a heading or a list (``#``, ``-``, ``+``, ``1.``, ``1)``); a
``>`` needs nothing, being written ``&gt;``."""
MD_LINKS = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=\bwww)(\.)")


def _md_cell(value: Any) -> str:
    """Untrusted text (participant text, model ids) as inert Markdown, for a table cell or a
    paragraph: one line; no raw HTML (``<`` and ``>`` as entities); every character that starts
    emphasis, code, a link or an image, strikethrough or a table cell backslash-escaped
    (``\\ ` * _ [ ] ~ |``); and the ``:`` of ``scheme://`` and the ``.`` of ``www.`` escaped,
    so that GitHub's autolinks make no link of a participant's URL."""
    text = " ".join(str(value).splitlines())
    text = MD_SPECIAL.sub(r"\\\1", text)
    text = MD_LINKS.sub(lambda m: "\\" + m.group(0), text)
    text = MD_BLOCK.sub(r"\1\\\2", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")
