"""Paper-ready reports of a study: HTML (self-contained) or Markdown, with PNG and SVG figures.

``codearena.reports.build.build_report`` writes one; it is imported on first use here, so that
the CLI starts without loading matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codearena.reports.build import FORMATS, Report, build_report

__all__ = ["FORMATS", "Report", "build_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("codearena.reports.build"), name)
    raise AttributeError(f"module 'codearena.reports' has no attribute {name!r}")
