"""Study exports (CSV, JSONL, Parquet) and the import of an export; see docs/exports.md."""

from codearena.exports.export import ExportError, Manifest, TableInfo, export_study
from codearena.exports.formats import FORMATS
from codearena.exports.importer import ImportFailure, StudyExists, import_export, read_export
from codearena.exports.tables import TABLES, TableSpec

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
