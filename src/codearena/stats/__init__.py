"""Statistics over plain Python and numpy data: arena leaderboards (Bradley-Terry with bootstrap
intervals, separation and disconnection warnings), rating summaries, objective figures,
breakdowns, correlations, agreement, pass@k.

This package never imports ``codearena.store`` or ``codearena.web``; the callers load the rows.
"""

from .agreement import krippendorff_alpha
from .bradley_terry import Vote, bradley_terry
from .breakdown import breakdown, group_by
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
from .leaderboard import (
    LeaderboardRow,
    board_warnings,
    leaderboard,
    ranks_from_intervals,
    win_rate_matrix,
)
from .objective import ObjectiveSummary, TaskResult, objective_summary, objective_table
from .passk import pass_at_k, pass_at_k_table
from .ratings import Rating, RatingSummary, rating_summary, rating_table
from .separation import BoardStructure, board_structure

__all__ = [
    "MIN_INTERVAL_N",
    "BoardStructure",
    "Correlation",
    "LeaderboardRow",
    "ObjectiveSummary",
    "Rating",
    "RatingSummary",
    "TaskResult",
    "Vote",
    "bca_interval",
    "board_structure",
    "board_warnings",
    "bootstrap_interval",
    "bounded_mean_interval",
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
    "too_few",
    "wilson_interval",
    "win_rate_matrix",
]
