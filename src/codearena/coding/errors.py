"""Errors of the coding workbench; each carries the HTTP status the web layer answers with."""

from __future__ import annotations

from codearena.errors import CodearenaError


class CodingError(CodearenaError, ValueError):
    """Invalid coding input; the message says what to fix. Nothing was changed."""

    status = 400


class CodingNotFound(CodingError):
    """No such study, answer, code, concept or category (in this study)."""

    status = 404


class CodingConflict(CodingError):
    """The name is taken (rename: merge instead) or the data changed meanwhile."""

    status = 409


class CodebookError(CodingError):
    """A codebook CSV with bad rows: every problem with its line number; nothing imported."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"the codebook was not imported: {shown}{more}")
