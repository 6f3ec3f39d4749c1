"""A benchmark problem: what to ask, in which language, and how to test the answer."""

from __future__ import annotations

from dataclasses import dataclass

from codearena.sandbox import TestSpec


@dataclass(frozen=True)
class Problem:
    id: str
    prompt: str
    language: str
    tests: TestSpec
    reference: str | None = None  # a known-good solution (HumanEval's canonical one)
    completion_prefix: str | None = None  # code the answer continues (HumanEval's signature)

    def task_text(self) -> str:
        """The instruction sent to a chat model."""
        if self.completion_prefix is not None:
            return (
                f"Complete the following {self.language} function. Reply with the complete "
                f"function (signature included) in one fenced code block.\n\n"
                f"```{self.language}\n{self.prompt}```"
            )
        return self.prompt
