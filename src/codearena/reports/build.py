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
from codearena.stats.bradley_terry import RIDGE, BothBad
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


BACKENDS = {
    "bwrap": "bubblewrap",
    "gvisor": "gVisor",
    "unisolated": "the unisolated backend, with no isolation",
}
"""How the methods paragraph names a sandbox backend stored in ``executions.backend``."""


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _listing(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _dates(span: dict[str, str] | None, verb: str = "between") -> str:
    """ "on 2025-02-03" or "between 2025-02-03 and 2025-02-13"; "" without dates."""
    if not span:
        return ""
    if span["first"] == span["last"]:
        return f"on {span['first']}"
    return (
        f"{verb} {span['first']} and {span['last']}"
        if verb == "between"
        else (f"from {span['first']} to {span['last']}")
    )


def _collection_sentences(facts: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """Who took part and what was imported, with the dates the rows carry."""
    platform = facts["platform"]
    out: list[str] = []
    if platform["participants"] or platform["study_tasks"]:
        when = _dates(platform["dates"])
        out.append(
            f"Data were collected on the codearena platform (version {__version__} at the time "
            f"of this report; {study.get('mode')} mode){' ' + when if when else ''} "
            f"(the first and last recorded platform activity): "
            f"{_plural(platform['participants'], 'participant')} joined, "
            f"{platform['consented']} consented and "
            f"{_plural(platform['study_tasks'], 'task')} were sent to the models "
            f"({_plural(platform['tasks'], 'distinct prompt')})."
        )
    else:
        out.append("No participant used the platform and no task was sent to a model.")
    for key, what in (("imported_votes", "pairwise vote"), ("imported_ratings", "rating")):
        part = facts[key]
        if part["n"]:
            sources = _listing([f'"{src}"' for src in part["sources"]])
            out.append(
                f"{_plural(part['n'], what)} collected elsewhere {'was' if part['n'] == 1 else 'were'} "
                f"imported from {sources} {_dates(part['imported'])}; the import stores no "
                f"collection date, so none is given for them."
            )
    survey = facts["imported_survey"]
    if survey["respondents"]:
        out.append(
            f"{_plural(survey['respondents'], 'survey respondent')} {'was' if survey['respondents'] == 1 else 'were'} "
            f"imported from a form export {_dates(survey['imported'])} (the import date; the "
            f"export's own dates were not stored)."
        )
    return out


def _answer_sentences(facts: dict[str, Any], study: dict[str, Any]) -> list[str]:
    """The models' answers, the options they were asked with, the runs and the checks."""
    gens, runs, checks, options = (
        facts["generations"],
        facts["executions"],
        facts["checks"],
        facts["options"],
    )
    out: list[str] = []
    if gens["n"]:
        kinds = [_plural(gens["answers"], "first answer")]
        if gens["follow_ups"]:
            kinds.append(
                _plural(gens["follow_ups"], "answer to a follow-up", "answers to follow-ups")
            )
        if gens["repairs"]:
            kinds.append(_plural(gens["repairs"], "repair round"))
        failed = ""
        if gens["failed"]:
            why = ", ".join(f"{k}: {v}" for k, v in gens["failed_by_status"].items())
            failed = (
                f"; {_plural(gens['failed'], 'call')} did not finish with an answer ({why}) "
                f"and {'has' if gens['failed'] == 1 else 'have'} nothing to rate, run or vote on"
            )
        out.append(
            f"The models ({_listing(gens['models'])}, as the ids were sent) were called "
            f"{gens['n']} times through their APIs, with answers streamed and stored with their "
            f"latency, tokens and cost: {gens['ok']} answers arrived ({_listing(kinds)}){failed}."
        )
        temps = options["temperatures"]
        unset = options["tasks_without_temperature"]
        if temps:
            temp = f"Tasks were sent with temperature {_listing([f'{t:g}' for t in temps])}"
            temp += (
                f" ({_plural(unset, 'task')} with none set: the provider's default)"
                if unset
                else ""
            )
        else:
            temp = "No temperature was set (each provider's default)"
        prompt = ", ".join(study.get("prompt_options") or []) or "none"
        stored = [
            f"{name} {', '.join(values)}"
            for name, values in (
                ("requirements", options["requirements"]),
                ("tones", options["tones"]),
                ("output languages", options["output_languages"]),
            )
            if values
        ]
        out.append(
            f"{temp}; the task form offered the prompt options {prompt}"
            + (f" (stored with the tasks: {'; '.join(stored)})" if stored else "")
            + "."
        )
    elif study.get("models"):
        out.append(f"The study's models ({_listing(study['models'])}) were never called.")
    if runs["n"]:
        backends = _listing(
            [f"{BACKENDS.get(b, b)}: {_plural(n, 'run')}" for b, n in runs["backends"].items()]
        )
        without = runs["answers_run_without_tests"]
        out.append(
            f"{_plural(runs['answers_run'], 'answer')} {'was' if runs['answers_run'] == 1 else 'were'} "
            f"run in the sandbox ({backends}), {runs['answers_tested']} of them against the "
            f"task's tests"
            + (
                f"; {without} ran without tests (verdict ran), checked nothing and are in no pass rate"
                if without
                else ""
            )
            + "."
        )
    else:
        out.append("No answer was run.")
    if runs["fixes"]:
        out.append(
            f"Participants fixed answers by hand in {_plural(runs['fixes'], 'attempt')} "
            f"({_plural(runs['fix_runs'], 'run')} of their edited code, left out of every pass "
            f"rate: they measure the participant's code, not the model's)."
        )
    if checks["answers_measured"]:
        tools = f" ({_listing(checks['tools'])} findings)" if checks["tools"] else ""
        out.append(
            f"{_plural(checks['answers_measured'], 'answer')} {'was' if checks['answers_measured'] == 1 else 'were'} "
            f"checked statically: lines, lint and security findings{tools}, and complexity."
        )
    return out


def _judgement_sentences(
    analysis: dict[str, Any], facts: dict[str, Any], survey: dict[str, Any]
) -> list[str]:
    options = analysis.get("options", {})
    platform = facts["platform"]
    out: list[str] = []
    imported_ratings = facts["imported_ratings"]["n"]
    if platform["ratings"] or imported_ratings:
        parts = []
        if platform["ratings"]:
            parts.append(
                f"{_plural(platform['ratings'], 'rating')} by {_plural(platform['raters'], 'participant')} "
                f"on the platform, each scoring correctness, quality and usefulness on a 1-5 "
                f"scale (the form shows the numbers 1 to 5 with no verbal anchor) and estimating "
                f"the minutes to make the code usable"
            )
        if imported_ratings:
            parts.append(f"{imported_ratings} imported 1-5 scores on the file's dimensions")
        out.append(
            f"Ratings: {'; '.join(parts)}. 1-5 means carry 95% Wilson score intervals with the "
            f"ratings' spread (quasi-binomial), which stay within 1-5, and minutes carry BCa "
            f"bootstrap intervals; inter-rater agreement is Krippendorff's alpha (ordinal)."
        )
    imported_votes = facts["imported_votes"]["n"]
    use_imported = options.get("include_imported", True)
    valid = platform["valid_battles"]
    if valid or (imported_votes and use_imported):
        flagged = platform["self_identified"]
        excluded = []
        if flagged:
            excluded.append(
                f"the {_plural(flagged, 'vote')} on answers that named their own model "
                + _were(flagged)
                + (" included" if options.get("include_flagged") else " left out")
            )
        if platform["battles"] > valid:
            excluded.append(
                f"{_plural(platform['battles'] - valid, 'battle')} without a valid choice between "
                f"two different models {'was' if platform['battles'] - valid == 1 else 'were'} left out"
            )
        if imported_votes and not use_imported:
            excluded.append(
                f"the {_plural(imported_votes, 'imported vote')} {_were(imported_votes)} left out"
            )
        both_bad = platform["both_bad"]
        if both_bad:
            excluded.append(
                f"{_plural(both_bad, 'both-bad vote')} "
                + _were(both_bad)
                + (
                    (" counted as a tie" if both_bad == 1 else " counted as ties")
                    if options.get("both_bad", "tie") == "tie"
                    else " dropped"
                )
            )
        counted = f"{_plural(valid, 'platform battle')}"
        if imported_votes and use_imported:
            counted += f" and {_plural(imported_votes, 'imported vote')}"
        out.append(
            f"Pairwise votes ({counted}) were fitted with a Bradley-Terry model by maximum "
            f"likelihood with a ridge penalty of {RIDGE:g} on the "
            f"log-strengths, ties counting as half a win"
            + (f" ({'; '.join(excluded)})" if excluded else "")
            + f"; 95% intervals are percentiles of a seeded bootstrap of {options.get('rounds', 1000)} "
            f"rounds (seed {options.get('seed', 0)}) that resampled "
            f"{_resampled(options.get('bootstrap', 'votes'))}, and a model's rank is 1 plus the "
            f"number of models whose lower bound is above its upper bound. Where the votes set "
            f"no limit on a rating (a model that won or lost every battle, models that beat all "
            f"the others as a group, groups of models that never met) the leaderboard says so, "
            f"leaves the interval open on that side, and ranks each group of models that met on "
            f"its own."
        )
    else:
        out.append("There were no pairwise votes, so no leaderboard was fitted.")
    if facts["executions"]["answers_tested"]:
        out.append("Pass rates carry 95% Wilson intervals.")
    if platform["ratings"] and (
        facts["executions"]["answers_tested"] or facts["checks"]["answers_measured"]
    ):
        out.append(
            "Human ratings are compared with objective figures by Spearman's rho with "
            "percentile bootstrap intervals."
        )
    out.append(
        f"No interval of a mean, a pass rate or a correlation is given from fewer than "
        f'{stats.MIN_INTERVAL_N} values ("n too small").'
    )
    respondents = survey["respondents"]
    imported = facts["imported_survey"]["respondents"]
    if respondents:
        on_platform = facts["platform"]["survey_respondents"]
        split = (
            f" ({on_platform} on the platform, {imported} imported)"
            if imported and on_platform
            else ""
        )
        other = "; imported answers matching no option were counted as Other" if imported else ""
        aliased = facts["imported_survey"].get("aliased", 0)
        through = (
            f"; {_plural(aliased, 'imported answer')} (or parts of multi-select answers) "
            f"{_were(aliased)} matched to {'its option' if aliased == 1 else 'their options'} "
            "through the import's alias file"
            if aliased
            else ""
        )
        out.append(f"The survey had {_plural(respondents, 'respondent')}{split}{other}{through}.")
    return out


def _methods(
    analysis: dict[str, Any], survey: dict[str, Any], style: dict[str, Any] | None = None
) -> str:
    """The methods paragraph, every clause from the study's rows (``analysis.provenance``) and
    the options the figures were computed with: nothing is said that did not happen."""
    study, facts = analysis["study"], analysis["collection"]
    sentences = [
        *_collection_sentences(facts, study),
        *_answer_sentences(facts, study),
        *_judgement_sentences(analysis, facts, survey),
    ]
    return " ".join(sentences) + _style_methods(style) + _design_methods(study)


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
                f"{r['model']} has only {_plural(int(r['battles']), 'battle')} (fewer than "
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
        "methods": _methods(analysis, survey, style),
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
