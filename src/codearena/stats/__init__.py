"""Statistics over plain Python and numpy data: arena leaderboards (Bradley-Terry with bootstrap
intervals of votes or of participants, separation and disconnection warnings, style control
with covariates, the votes a target interval width needs), rating summaries, objective figures,
breakdowns, correlations, agreement, pass@k, and inference (mixed models of ratings, GEE of
pass/fail, Holm, Cliff's delta, win probabilities; statsmodels imported when a model is fitted).

This package never imports ``codearena.store`` or ``codearena.web``; the callers load the rows.

Importing the package loads numpy but not scipy (which takes a second): the modules that use
scipy are imported on a name's first use, so a command that needs pass@k alone (``codearena
bench``) does not wait for it. ``bradley_terry``, ``breakdown``, ``leaderboard`` and
``style_control`` are imported at once because each shares its name with its module: importing
that module later would put the module object where the function is.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .bradley_terry import Vote, bradley_terry
from .breakdown import breakdown, group_by
from .leaderboard import (
    LeaderboardRow,
    board_warnings,
    leaderboard,
    ranks_from_intervals,
    win_rate_matrix,
)
from .style_control import Coefficient, StyleControlFit, style_control

if TYPE_CHECKING:
    from .agreement import krippendorff_alpha
    from .correlation import Correlation, spearman_with_ci
    from .intervals import (
        MIN_INTERVAL_N,
        bca_interval,
        bootstrap_interval,
        bounded_mean_interval,
        mean_or_none,
        median_or_none,
        percentile_interval,
        t_interval,
        too_few,
        wilson_interval,
    )
    from .mixed import MixedFit, PassFailFit, Run, Score, fit_mixed, fit_pass_fail
    from .objective import ObjectiveSummary, TaskResult, objective_summary, objective_table
    from .pairwise import cliffs_delta, compare_votes, holm
    from .passk import pass_at_k, pass_at_k_table
    from .planning import Plan, PlanPoint, plan_votes, simulated_width
    from .ratings import Rating, RatingSummary, rating_summary, rating_table
    from .separation import BoardStructure, board_structure

_MODULE_OF = {
    "agreement": ("krippendorff_alpha",),
    "correlation": ("Correlation", "spearman_with_ci"),
    "intervals": (
        "MIN_INTERVAL_N",
        "bca_interval",
        "bootstrap_interval",
        "bounded_mean_interval",
        "mean_or_none",
        "median_or_none",
        "percentile_interval",
        "t_interval",
        "too_few",
        "wilson_interval",
    ),
    "mixed": ("MixedFit", "PassFailFit", "Run", "Score", "fit_mixed", "fit_pass_fail"),
    "objective": ("ObjectiveSummary", "TaskResult", "objective_summary", "objective_table"),
    "pairwise": ("cliffs_delta", "compare_votes", "holm"),
    "passk": ("pass_at_k", "pass_at_k_table"),
    "planning": ("Plan", "PlanPoint", "plan_votes", "simulated_width"),
    "ratings": ("Rating", "RatingSummary", "rating_summary", "rating_table"),
    "separation": ("BoardStructure", "board_structure"),
}
"""The modules imported on first use, with the names each one gives the package."""
_HOME = {name: module for module, names in _MODULE_OF.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import ``name``'s module on first use (PEP 562) and keep the name here."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "MIN_INTERVAL_N",
    "BoardStructure",
    "Coefficient",
    "Correlation",
    "LeaderboardRow",
    "MixedFit",
    "ObjectiveSummary",
    "PassFailFit",
    "Plan",
    "PlanPoint",
    "Rating",
    "RatingSummary",
    "Run",
    "Score",
    "StyleControlFit",
    "TaskResult",
    "Vote",
    "bca_interval",
    "board_structure",
    "board_warnings",
    "bootstrap_interval",
    "bounded_mean_interval",
    "bradley_terry",
    "breakdown",
    "cliffs_delta",
    "compare_votes",
    "fit_mixed",
    "fit_pass_fail",
    "group_by",
    "holm",
    "krippendorff_alpha",
    "leaderboard",
    "mean_or_none",
    "median_or_none",
    "objective_summary",
    "objective_table",
    "pass_at_k",
    "pass_at_k_table",
    "percentile_interval",
    "plan_votes",
    "ranks_from_intervals",
    "rating_summary",
    "rating_table",
    "simulated_width",
    "spearman_with_ci",
    "style_control",
    "t_interval",
    "too_few",
    "wilson_interval",
    "win_rate_matrix",
]
