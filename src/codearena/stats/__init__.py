"""Statistics over plain Python and numpy data: arena leaderboards (Bradley-Terry with bootstrap
intervals), rating summaries, objective figures, breakdowns, correlations, agreement, pass@k.

This package never imports ``codearena.store`` or ``codearena.web``; the callers load the rows.
"""

from .agreement import krippendorff_alpha
from .bradley_terry import Vote, bradley_terry
from .breakdown import breakdown, group_by
from .correlation import Correlation, spearman_with_ci
from .intervals import (
    bootstrap_interval,
    mean_or_none,
    median_or_none,
    percentile_interval,
    t_interval,
    wilson_interval,
)
from .leaderboard import LeaderboardRow, leaderboard, ranks_from_intervals, win_rate_matrix
from .objective import ObjectiveSummary, TaskResult, objective_summary, objective_table
from .passk import pass_at_k, pass_at_k_table
from .ratings import Rating, RatingSummary, rating_summary, rating_table

__all__ = [
    "Correlation",
    "LeaderboardRow",
    "ObjectiveSummary",
    "Rating",
    "RatingSummary",
    "TaskResult",
    "Vote",
    "bootstrap_interval",
    "bradley_terry",
    "breakdown",
    "group_by",
    "krippendorff_alpha",
    "leaderboard",
    "mean_or_none",
    "median_or_none",
    "objective_summary",
    "objective_table",
    "pass_at_k",
    "pass_at_k_table",
    "percentile_interval",
    "ranks_from_intervals",
    "rating_summary",
    "rating_table",
    "spearman_with_ci",
    "t_interval",
    "wilson_interval",
    "win_rate_matrix",
]
