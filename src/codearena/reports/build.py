"""``codearena report``: a study's tables and figures as a self-contained HTML (or Markdown) report.

The numbers come from ``analysis.analyse_data`` (and ``analysis.style`` with ``control``), ``survey.summary.summarize_survey`` and
``coding.codebook``: the report computes nothing of its own, so the dashboard, the JSON API and
the report always agree.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from codearena import __version__, stats
from codearena.analysis import analyse_data, display, load_study
from codearena.analysis.style import Control, controlled_board
from codearena.coding import codebook
from codearena.reports import figures
from codearena.reports.figures import FigureFile
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


def _methods(
    analysis: dict[str, Any], survey: dict[str, Any], style: dict[str, Any] | None = None
) -> str:
    study, options = analysis["study"], analysis.get("options", {})
    models = ", ".join(study.get("models") or []) or "none"
    prompt = ", ".join(study.get("prompt_options") or []) or "none"
    period = (
        f"from {analysis['first_activity'][:10]} to {analysis['last_activity'][:10]}"
        if analysis.get("first_activity") and analysis.get("last_activity")
        else "with no recorded activity yet"
    )
    both_bad = "as ties" if options.get("both_bad", "tie") == "tie" else "dropped"
    flagged = "included" if options.get("include_flagged") else "excluded"
    imported_votes = analysis["progress"].get("imported_votes") or 0
    imported = (
        f"; {imported_votes} votes imported from other arenas were included"
        if options.get("include_imported", True) and imported_votes
        else ""
    )
    return (
        f"Participants used codearena {__version__} in {study.get('mode')} mode {period}; "
        f"{analysis['progress'].get('participants_consented', 0)} consented participants sent "
        f"{analysis['progress'].get('tasks', 0)} tasks to the models {models} (prompt options "
        f"shown: {prompt}). Answers were streamed from each model's API and stored with their "
        f"latency, tokens and cost; code was run in a bubblewrap sandbox (no network, fresh "
        f"namespaces, resource limits) against the tasks' tests and checked with ruff and bandit. "
        f"Pairwise votes were fitted with a Bradley-Terry model by maximum likelihood (ties and "
        f"both-bad votes counted as half a win, both-bad {both_bad}; votes on answers that named "
        f"their own model {flagged}{imported}); 95% intervals come from a seeded bootstrap of "
        f"{options.get('rounds', 1000)} rounds (seed {options.get('seed', 0)}) that resampled "
        f"{_resampled(options.get('bootstrap', 'votes'))}, and a model's rank "
        f"is 1 plus the number of models whose lower bound is above its upper bound. Where the "
        f"votes set no limit on a rating (a model that won or lost every battle, models that "
        f"beat all the others as a group, groups of models that never met) the leaderboard says "
        f"so, leaves the interval open on that side, and ranks and centres each group of models "
        f"that met on its own. Pass rates carry 95% Wilson intervals; 1-5 rating means carry 95% "
        f"Wilson score intervals with the ratings' spread (quasi-binomial), which stay within "
        f"1-5; minutes to make code usable carry BCa bootstrap intervals; no interval of a mean, "
        f"a pass rate or a correlation is given from fewer than {stats.MIN_INTERVAL_N} values "
        f'("n too small"). Human ratings are compared with objective figures by Spearman\'s rho '
        f"with bootstrap intervals, and inter-rater agreement is Krippendorff's alpha (ordinal). "
        f"The survey had {survey['respondents']} respondents; answers matching no option were "
        f"counted as Other.{_style_methods(style)}{_design_methods(study)}"
    )


def _design_methods(study: dict[str, Any]) -> str:
    """The sentence on the study's design: how tasks and models were given to participants."""
    design = study.get("design", "open")
    if design == "open":
        if study.get("mode") == "blind" and study.get("pairing") == "adaptive":
            return (
                " Blind pairs were drawn adaptively: the pair whose next vote was expected to "
                "shrink the total variance of the ratings most, with one draw in ten uniform "
                "over all pairs."
            )
        return ""
    tasks, per = study.get("design_tasks", 0), study.get("tasks_per_participant")
    doing = f"{per} of the {tasks}" if per and per < tasks else f"all {tasks}"
    if design == "crossover":
        given = (
            "each task was answered by an ordered pair of different models (which model is A), "
            "the pair cycling over participants so that over every full cycle each pair answered "
            "each task once"
            if study.get("mode") == "blind"
            else "each task was answered by every model, the order of the answers rotating over "
            "participants so that each model was shown in each position equally often"
        )
        if per and per < tasks:
            given += (
                " among the participants who did all of them (with a subset of tasks each, as "
                "here, that balance per task holds only approximately)"
            )
        how = f"a crossover design: every participant did {doing} tasks of its task file; {given}"
    else:
        unit = (
            "pair of models (sides alternating by task)"
            if study.get("mode") == "blind"
            else "model"
        )
        how = (
            f"a between-participants design: each participant did {doing} tasks of its task file, "
            f"all answered by one {unit} assigned in randomised balanced blocks"
        )
    return (
        f" The study used {how}. Task order followed the rows of a Williams design (each task "
        f"in each position, and after each other task, equally often). "
        f"{study.get('assigned_participants', 0)} participants were assigned, by join order, "
        f"with seed {study.get('design_seed')}; each one's full schedule is stored and exported "
        f"(design_assignments)."
    )


def _resampled(bootstrap: str) -> str:
    if bootstrap == "participants":
        return (
            "participants, each with all of their votes (an imported vote's rater is its "
            "participant; a vote imported without one counts as a participant of its own)"
        )
    return "single votes"


def _style_methods(style: dict[str, Any] | None) -> str:
    """The sentence on style control, when it was fitted."""
    if style is None:
        return ""
    left = style["left_out"]
    left_out = (
        f"; {left['imported']} imported votes (no stored answers) and "
        f"{left['without_answers']} battles without both answers stored were left out of it"
        if left["imported"] or left["without_answers"]
        else ""
    )
    return (
        f" Ratings were also fitted with style control ({style['control']}): Bradley-Terry with "
        f"the differences of the two answers' {', '.join(style['features'])} as covariates "
        f"(counts as relative differences (a - b) / (a + b + 1), each divided by its root mean "
        f"square), on {style['votes']} battles with the same bootstrap{left_out}."
    )


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


def _figures(
    analysis: dict[str, Any], survey: dict[str, Any], out: Path
) -> tuple[list[FigureFile], dict[int, FigureFile]]:
    made: list[FigureFile | None] = [
        figures.leaderboard_figure(analysis["leaderboard"], out),
        figures.winrate_figure(
            analysis["win_matrix"]["models"], analysis["win_matrix"]["matrix"], out
        ),
        figures.ratings_figure(analysis["ratings"], out),
        figures.pass_rate_figure(
            [
                (m, o["pass_rate"], o["pass_ci_low"], o["pass_ci_high"], o.get("pass_ci_note"))
                for m, o in analysis["objective"].items()
                if o.get("pass_rate") is not None
            ],
            out,
            sizes=[
                int(o["executed"])
                for o in analysis["objective"].values()
                if o.get("pass_rate") is not None
            ],
        ),
        figures.human_vs_objective_figure(
            [
                (p["correctness"], float(p["passed"]), p.get("findings_per_100_lines"))
                for p in analysis.get("generation_points", [])
                if p.get("correctness") is not None and p.get("passed") is not None
            ],
            out,
        ),
    ]
    per_question: dict[int, FigureFile] = {}
    for q in survey["questions"]:
        if q["type"] in ("single", "multi", "rating") and q.get("counts"):
            fig = figures.survey_figure(q["number"], q["text"], q["counts"], out)
            if fig is not None:
                per_question[q["number"]] = fig
    return [f for f in made if f is not None], per_question


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
) -> Report:
    """Write the report (and its figures as PNG and SVG) into ``out``. ``bootstrap`` is what
    the leaderboards' intervals resample; ``control`` adds the style-controlled leaderboard and
    its coefficients (``analysis.style``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use html or md")
    out.mkdir(parents=True, exist_ok=True)
    data = load_study(store, study_id)
    analysis = analyse_data(data, rounds=rounds, seed=seed, bootstrap=bootstrap).to_dict()
    style = (
        None
        if control is None
        else controlled_board(data, control, rounds=rounds, seed=seed, bootstrap=bootstrap)
    )
    survey = summarize_survey(store, study_id).to_dict()
    main_figures, survey_figures = _figures(analysis, survey, out)
    all_figures = main_figures + list(survey_figures.values())
    objective_header, objective_rows = _objective(analysis["objective"])
    questions = []
    for q in survey["questions"]:
        questions.append(
            {
                **q,
                "rows": _counts_rows(q.get("counts") or {}, q["answered"])
                if q["type"] != "text"
                else [],
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
        "progress": _progress(analysis["progress"]),
        "participant_tables": [{"title": q["text"], "rows": q["rows"]} for q in demographic],
        "leaderboard": analysis["leaderboard"],
        "leaderboard_warnings": display.warning_sentences(analysis["leaderboard"]),
        "grouped": len({r.get("group", 1) for r in analysis["leaderboard"]}) > 1,
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
        "survey": survey,
        "survey_questions": questions,
        "coding": _coding_rows(store, study_id),
        "methods": _methods(analysis, survey, style),
        "bootstrap": bootstrap,
        "style": _style(style),
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


def _md_cell(value: Any) -> str:
    """A Markdown table cell: no pipes, newlines or raw HTML from untrusted text."""
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")
