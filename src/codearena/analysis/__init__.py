"""The study analysis layer: loads a study's rows from the store and runs ``codearena.stats``
on them (leaderboard, win rates, ratings, objective figures, breakdowns, correlations,
agreement). The CLI (``analysis.cli``) and the dashboard (``web.dashboard``) call it."""

from codearena.analysis.load import (
    GROUP_KEYS,
    StudyData,
    StudyNotFound,
    find_study,
    load_study,
    study_votes,
    tag_task,
)
from codearena.analysis.study import StudyAnalysis, analyse_data, analyse_study
from codearena.analysis.votes_import import ImportOutcome, VotesImportError, import_votes

__all__ = [
    "GROUP_KEYS",
    "ImportOutcome",
    "StudyAnalysis",
    "StudyData",
    "StudyNotFound",
    "VotesImportError",
    "analyse_data",
    "analyse_study",
    "find_study",
    "import_votes",
    "load_study",
    "study_votes",
    "tag_task",
]
