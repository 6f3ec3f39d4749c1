"""The study analysis layer: loads a study's rows from the store and runs ``codearena.stats``
on them (leaderboard, win rates, ratings, objective figures, breakdowns, correlations,
agreement). The CLI (``analysis.cli``) and the dashboard (``web.dashboard``) call it.

Names are imported on first use, so that ``codearena --help`` does not load numpy and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "codearena.analysis.load": (
        "GROUP_KEYS",
        "StudyData",
        "StudyNotFound",
        "find_study",
        "load_study",
        "study_votes",
        "tag_task",
    ),
    "codearena.analysis.study": ("StudyAnalysis", "analyse_data", "analyse_study"),
    "codearena.analysis.votes_import": ("ImportOutcome", "VotesImportError", "import_votes"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'codearena.analysis' has no attribute {name!r}")
