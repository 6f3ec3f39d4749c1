"""The report's methods paragraph: every sentence from the study's rows and the options used
(``analysis.provenance`` facts, the analysis, the survey summary), nothing claimed that did not
happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codearena import __version__, stats
from codearena.stats.bradley_terry import RIDGE

BACKENDS = {
    "bwrap": "bubblewrap",
    "gvisor": "gVisor",
    "unisolated": "the unisolated backend, with no isolation",
}
"""How the methods paragraph names a sandbox backend stored in ``executions.backend``."""


def plural(n: int, one: str, many: str | None = None) -> str:
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
            f"{plural(platform['participants'], 'participant')} joined, "
            f"{platform['consented']} consented and "
            f"{plural(platform['study_tasks'], 'task')} were sent to the models "
            f"({plural(platform['tasks'], 'distinct prompt')})."
        )
    else:
        out.append("No participant used the platform and no task was sent to a model.")
    for key, what in (("imported_votes", "pairwise vote"), ("imported_ratings", "rating")):
        part = facts[key]
        if part["n"]:
            sources = _listing([f'"{src}"' for src in part["sources"]])
            out.append(
                f"{plural(part['n'], what)} collected elsewhere {'was' if part['n'] == 1 else 'were'} "
                f"imported from {sources} {_dates(part['imported'])}; the import stores no "
                f"collection date, so none is given for them."
            )
    survey = facts["imported_survey"]
    if survey["respondents"]:
        out.append(
            f"{plural(survey['respondents'], 'survey respondent')} {'was' if survey['respondents'] == 1 else 'were'} "
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
        kinds = [plural(gens["answers"], "first answer")]
        if gens["follow_ups"]:
            kinds.append(
                plural(gens["follow_ups"], "answer to a follow-up", "answers to follow-ups")
            )
        if gens["repairs"]:
            kinds.append(plural(gens["repairs"], "repair round"))
        failed = ""
        if gens["failed"]:
            why = ", ".join(f"{k}: {v}" for k, v in gens["failed_by_status"].items())
            failed = (
                f"; {plural(gens['failed'], 'call')} did not finish with an answer ({why}) "
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
                f" ({plural(unset, 'task')} with none set: the provider's default)" if unset else ""
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
            [f"{BACKENDS.get(b, b)}: {plural(n, 'run')}" for b, n in runs["backends"].items()]
        )
        without = runs["answers_run_without_tests"]
        out.append(
            f"{plural(runs['answers_run'], 'answer')} {'was' if runs['answers_run'] == 1 else 'were'} "
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
            f"Participants fixed answers by hand in {plural(runs['fixes'], 'attempt')} "
            f"({plural(runs['fix_runs'], 'run')} of their edited code, left out of every pass "
            f"rate: they measure the participant's code, not the model's)."
        )
    if checks["answers_measured"]:
        tools = f" ({_listing(checks['tools'])} findings)" if checks["tools"] else ""
        out.append(
            f"{plural(checks['answers_measured'], 'answer')} {'was' if checks['answers_measured'] == 1 else 'were'} "
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
                f"{plural(platform['ratings'], 'rating')} by {plural(platform['raters'], 'participant')} "
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
                f"the {plural(flagged, 'vote')} on answers that named their own model "
                + _were(flagged)
                + (" included" if options.get("include_flagged") else " left out")
            )
        if platform["battles"] > valid:
            excluded.append(
                f"{plural(platform['battles'] - valid, 'battle')} without a valid choice between "
                f"two different models {'was' if platform['battles'] - valid == 1 else 'were'} left out"
            )
        if imported_votes and not use_imported:
            excluded.append(
                f"the {plural(imported_votes, 'imported vote')} {_were(imported_votes)} left out"
            )
        both_bad = platform["both_bad"]
        if both_bad:
            excluded.append(
                f"{plural(both_bad, 'both-bad vote')} "
                + _were(both_bad)
                + (
                    (" counted as a tie" if both_bad == 1 else " counted as ties")
                    if options.get("both_bad", "tie") == "tie"
                    else " dropped"
                )
            )
        counted = f"{plural(valid, 'platform battle')}"
        if imported_votes and use_imported:
            counted += f" and {plural(imported_votes, 'imported vote')}"
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
            f"; {plural(aliased, 'imported answer')} (or parts of multi-select answers) "
            f"{_were(aliased)} matched to {'its option' if aliased == 1 else 'their options'} "
            "through the import's alias file"
            if aliased
            else ""
        )
        out.append(f"The survey had {plural(respondents, 'respondent')}{split}{other}{through}.")
    return out


def methods_paragraph(
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
