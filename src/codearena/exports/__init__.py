"""Study exports (CSV, JSONL, Parquet) and the import of an export; see docs/exports.md.

Names are imported on first use, so that ``codearena export --help`` does not load the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codearena.exports.export import ExportError, Manifest, TableInfo, export_study
    from codearena.exports.formats import FORMATS
    from codearena.exports.importer import ImportFailure, StudyExists, import_export, read_export
    from codearena.exports.tables import TABLES, TableSpec

_HOMES = {
    "codearena.exports.export": ("ExportError", "Manifest", "TableInfo", "export_study"),
    "codearena.exports.formats": ("FORMATS",),
    "codearena.exports.importer": ("ImportFailure", "StudyExists", "import_export", "read_export"),
    "codearena.exports.tables": ("TABLES", "TableSpec"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "FORMATS",
    "TABLES",
    "ExportError",
    "ImportFailure",
    "Manifest",
    "StudyExists",
    "TableInfo",
    "TableSpec",
    "export_study",
    "import_export",
    "read_export",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'codearena.exports' has no attribute {name!r}")
