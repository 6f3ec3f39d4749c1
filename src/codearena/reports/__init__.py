"""Paper-ready reports of a study: HTML (self-contained) or Markdown, with PNG and SVG figures."""

from codearena.reports.build import FORMATS, Report, build_report

__all__ = ["FORMATS", "Report", "build_report"]
