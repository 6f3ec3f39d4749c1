"""Open coding of free-text answers: codes per question, grouped into concepts and categories.

The workbench page (``codearena.web.coding``), the CLI (``codearena.coding.cli``) and the
exports call these service functions; each takes the store and the study id.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codearena.coding.answers import (
        ANSWER_KINDS,
        COMMENTS,
        AnswerFilter,
        CodeRef,
        FreeAnswer,
        QuestionInfo,
        list_answers,
    )
    from codearena.coding.csvio import COLUMNS, ImportReport, export_codebook, import_codebook
    from codearena.coding.edits import (
        answer_codes,
        create_category,
        create_code,
        create_concept,
        merge,
        remove,
        rename,
        set_code_concept,
        set_concept_category,
        tag_answer,
        untag_answer,
    )
    from codearena.coding.errors import CodebookError, CodingConflict, CodingError, CodingNotFound
    from codearena.coding.summary import (
        CategoryCount,
        CategoryGroup,
        Codebook,
        CodeCount,
        ConceptCount,
        answers_by_category,
        codebook,
        coded_answers,
        group_by_category,
    )
    from codearena.store.research_models import CodingCategory, CodingCode, CodingConcept

_HOMES = {
    "answers": (
        "ANSWER_KINDS", "COMMENTS", "AnswerFilter", "CodeRef", "FreeAnswer", "QuestionInfo",
        "list_answers",
    ),
    "edits": (
        "answer_codes", "create_category", "create_code", "create_concept", "merge", "remove",
        "rename", "set_code_concept", "set_concept_category", "tag_answer", "untag_answer",
    ),
    "csvio": ("COLUMNS", "ImportReport", "export_codebook", "import_codebook"),
    "errors": ("CodebookError", "CodingConflict", "CodingError", "CodingNotFound"),
    "summary": (
        "CategoryCount", "CategoryGroup", "Codebook", "CodeCount", "ConceptCount",
        "answers_by_category", "codebook", "coded_answers", "group_by_category",
    ),
}  # fmt: skip
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
_MODELS = ("CodingCategory", "CodingCode", "CodingConcept")


def __getattr__(name: str) -> Any:
    """The service functions load on first use, so ``codearena coding --help`` stays light."""
    if name in _MODELS:
        return getattr(importlib.import_module("codearena.store.research_models"), name)
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module 'codearena.coding' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"codearena.coding.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ANSWER_KINDS",
    "COLUMNS",
    "COMMENTS",
    "AnswerFilter",
    "CategoryCount",
    "CategoryGroup",
    "CodeCount",
    "CodeRef",
    "Codebook",
    "CodebookError",
    "CodingCategory",
    "CodingCode",
    "CodingConcept",
    "CodingConflict",
    "CodingError",
    "CodingNotFound",
    "ConceptCount",
    "FreeAnswer",
    "ImportReport",
    "QuestionInfo",
    "answer_codes",
    "answers_by_category",
    "codebook",
    "coded_answers",
    "create_category",
    "create_code",
    "create_concept",
    "export_codebook",
    "group_by_category",
    "import_codebook",
    "list_answers",
    "merge",
    "remove",
    "rename",
    "set_code_concept",
    "set_concept_category",
    "tag_answer",
    "untag_answer",
]
