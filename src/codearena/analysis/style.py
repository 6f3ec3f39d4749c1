"""The features of style control, from a study's stored answers, and the controlled leaderboard.

Each platform battle compares two stored answers: the generations of the battle's two models on
its study task's pipeline task, at the last turn the participant had seen (``turns_seen``; 1, the
first answer, when not recorded). Per side:

* ``length``: characters of the answer's text;
* ``code_lines``: non-blank lines of its code blocks (as stored, ``answers.stored_blocks``);
* ``headers``, ``lists``, ``bold``: Markdown headers (``#`` to ``######``), list items (``-``,
  ``*``, ``+`` or ``1.``) and bold spans (``**x**``, ``__x__``) outside code blocks;

and with ``style+objective``:

* ``tests_passed``: 1 if the answer's latest run against tests passed, 0 if it failed, unknown
  if it never ran against tests (the dashboard's rule, ``figures``);
* ``findings``: the static checks' findings (lint and security) of its code, unknown if never
  checked.

Every feature but ``tests_passed`` is a count and enters as a relative difference
(``stats.style_control``). An imported vote has no answers and a battle whose answers are not
stored cannot be controlled: both are left out of the fit and counted in ``left_out``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal, get_args

from codearena import stats
from codearena.analysis.figures import latest_verdict
from codearena.analysis.load import StudyData, platform_battles
from codearena.answers import stored_blocks
from codearena.stats.bradley_terry import BothBad
from codearena.stats.resampling import Bootstrap
from codearena.stats.style_control import style_control
from codearena.store.models import Execution, Generation

Control = Literal["style", "style+objective"]
CONTROLS: tuple[str, ...] = get_args(Control)
STYLE_FEATURES = ("length", "code_lines", "headers", "lists", "bold")
OBJECTIVE_FEATURES = ("tests_passed", "findings")
NOT_RATIOS = frozenset({"tests_passed"})

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+\S")
_BOLD = re.compile(r"\*\*(?=\S)[^*\n]+?\*\*|__(?=\S)[^_\n]+?__")


def feature_names(control: Control) -> tuple[str, ...]:
    return STYLE_FEATURES + (OBJECTIVE_FEATURES if control == "style+objective" else ())


def prose_lines(text: str) -> list[str]:
    """The lines of ``text`` outside fenced code blocks."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * 3
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append(line)
    return out


def markdown_counts(text: str) -> dict[str, int]:
    """Headers, list items and bold spans of an answer, outside its code blocks."""
    lines = prose_lines(text)
    return {
        "headers": sum(1 for line in lines if _HEADER.match(line)),
        "lists": sum(1 for line in lines if _LIST_ITEM.match(line)),
        "bold": sum(len(_BOLD.findall(line)) for line in lines),
    }


def answer_features(
    generation: Generation,
    runs: Sequence[Execution],
    findings: int | None,
    names: Sequence[str],
) -> list[float]:
    """One answer's features, in the order of ``names`` (NaN: unknown)."""
    blocks = stored_blocks(generation.code, generation.text or "")
    code_lines = sum(1 for b in blocks for line in b.source.splitlines() if line.strip())
    values: dict[str, float] = {
        "length": float(len(generation.text or "")),
        "code_lines": float(code_lines),
        **{k: float(v) for k, v in markdown_counts(generation.text or "").items()},
    }
    if "tests_passed" in names:
        verdict = latest_verdict(runs)
        values["tests_passed"] = math.nan if verdict is None else float(verdict)
    if "findings" in names:
        values["findings"] = math.nan if findings is None else float(findings)
    return [values[name] for name in names]


def _seen(generations: Sequence[Generation], model: str, turns: int | None) -> Generation | None:
    """The model's answer at the last turn the voter had seen."""
    limit = turns or 1
    mine = [g for g in generations if g.model == model and (g.turn or 1) <= limit]
    return max(mine, key=lambda g: (g.turn or 1, g.position or 0, g.id), default=None)


def styled_votes(
    data: StudyData, names: Sequence[str]
) -> tuple[list[stats.Vote], list[list[float]], list[list[float]], int]:
    """The platform battles whose two answers are stored, their sides' features, and how many
    battles were left out for want of an answer."""
    runs: defaultdict[str, list[Execution]] = defaultdict(list)
    for execution in data.executions:  # oldest first
        runs[execution.generation_id].append(execution)
    findings = {g: m.lint_count + m.security_count for g, m in data.metrics.items()}
    task_of = {st.id: st.task_id for st in data.study_tasks}
    answers: dict[str | None, list[Generation]] = defaultdict(list)
    for generation in data.generations.values():
        answers[generation.task_id].append(generation)
    votes: list[stats.Vote] = []
    first: list[list[float]] = []
    second: list[list[float]] = []
    missing = 0
    for row, vote, _ in platform_battles(data):
        shown = answers.get(task_of.get(row.study_task_id), [])
        a = _seen(shown, vote.model_a, row.turns_seen)
        b = _seen(shown, vote.model_b, row.turns_seen)
        if a is None or b is None:
            missing += 1
            continue
        votes.append(vote)
        first.append(answer_features(a, runs[a.id], findings.get(a.id), names))
        second.append(answer_features(b, runs[b.id], findings.get(b.id), names))
    return votes, first, second, missing


def controlled_board(
    data: StudyData,
    control: Control,
    *,
    rounds: int = 1000,
    seed: int = 0,
    tie_weight: float = 0.5,
    both_bad: BothBad = "tie",
    include_flagged: bool = False,
    bootstrap: Bootstrap = "participants",
) -> dict[str, Any]:
    """The style-controlled leaderboard of a study, JSON-ready: ``control``, ``bootstrap``,
    ``features``, ``votes`` (counted in the fit), ``left_out`` (imported votes, battles without
    both answers), ``leaderboard`` (the controlled rows), ``coefficients``
    (``{name: {"value", "ci_low", "ci_high", "rms", "note"}}``, log-odds per rms of the
    normalised difference) and ``uncontrolled`` (``stats.leaderboard`` of the same votes)."""
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {', '.join(CONTROLS)}, not {control!r}")
    names = feature_names(control)
    votes, first, second, missing = styled_votes(data, names)
    options: dict[str, Any] = {
        "rounds": rounds,
        "seed": seed,
        "tie_weight": tie_weight,
        "both_bad": both_bad,
        "include_flagged": include_flagged,
        "bootstrap": bootstrap,
    }
    ratio = [name not in NOT_RATIOS for name in names]
    fit = style_control(votes, first, second, names, ratio=ratio, **options)
    return {
        "control": control,
        "bootstrap": bootstrap,
        "features": list(names),
        "votes": fit.votes,
        "left_out": {"imported": len(data.imported), "without_answers": missing},
        "leaderboard": [row.to_dict() for row in fit.rows],
        "coefficients": {name: c.to_dict() for name, c in fit.coefficients.items()},
        "uncontrolled": [row.to_dict() for row in stats.leaderboard(votes, **options)],
    }


__all__ = [
    "CONTROLS",
    "OBJECTIVE_FEATURES",
    "STYLE_FEATURES",
    "Control",
    "answer_features",
    "controlled_board",
    "feature_names",
    "markdown_counts",
    "prose_lines",
    "styled_votes",
]
