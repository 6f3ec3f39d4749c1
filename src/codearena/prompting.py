"""Prompt construction, after the study's platform (arXiv 2501.16998).

``build_messages`` turns a task and the "I want" / tone / output-language choices into chat
messages; pulling the code back out of a reply is :mod:`codearena.answers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

REQUIREMENTS: tuple[str, ...] = (
    "Generate code",
    "Generate code with error handling",
    "Generate code with explanation",
    "Generate 3 codes",
    "Generate code (as short as possible)",
)
TONES: tuple[str, ...] = ("Professional", "Academic", "Direct", "Helpful", "Friendly")
PROMPT_STYLES: tuple[str, ...] = ("study", "plain")
"""How a task is put to the models: the study's prompt around it, or the task as written. (A
study's ``named`` / ``blind`` is its *mode*; the two never share a name.)"""
DEFAULT_TEMPERATURE = 0.5
SYSTEM_MESSAGE = (
    "You are an advanced programming assistant. You write accurate, efficient and well-commented "
    "code that follows best practices, name the libraries it needs, and explain it clearly."
)
GUIDELINES: tuple[str, ...] = (
    "Write accurate and efficient code that solves the task.",
    "Add clear comments that explain the important steps.",
    "Follow the best practices of the programming language.",
    "Name the libraries and dependencies needed to run the code.",
    "Format the answer so that it is easy to read.",
)
_REQUIREMENT_INSTRUCTIONS: dict[str, str] = {
    "Generate code": "Give one complete, working solution.",
    "Generate code with error handling": (
        "Give one complete solution that validates its input and handles errors explicitly "
        "(catch and report exceptions, fail with clear messages)."
    ),
    "Generate code with explanation": (
        "Give one complete solution, then explain step by step how the code works."
    ),
    "Generate 3 codes": (
        "Give exactly three alternative solutions. Introduce each one with a heading line of its "
        "own: `### Variant 1`, `### Variant 2`, `### Variant 3`, and give each variant its own "
        "fenced code block."
    ),
    "Generate code (as short as possible)": (
        "Make the code as short as possible while keeping it correct; keep the explanation to "
        "one or two sentences."
    ),
}


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", value.lower()).strip()


def _normalize(value: str, choices: tuple[str, ...], what: str) -> str:
    for choice in choices:
        if _key(value) == _key(choice):
            return choice
    valid = ", ".join(repr(c) for c in choices)
    raise ValueError(f"invalid {what} {value!r}; valid choices: {valid}")


def normalize_requirement(value: str) -> str:
    """Return the canonical spelling of an "I want" option (case/punctuation-insensitive)."""
    return _normalize(value, REQUIREMENTS, "requirement")


def normalize_tone(value: str) -> str:
    """Return the canonical spelling of a tone (case-insensitive)."""
    return _normalize(value, TONES, "tone")


@dataclass(frozen=True)
class PromptOptions:
    """The study's prompt choices; requirement and tone are normalised to canonical spelling."""

    requirement: str = "Generate code"
    tone: str = "Professional"
    language: str | None = None
    prompt_style: Literal["study", "plain"] = "study"

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirement", normalize_requirement(self.requirement))
        object.__setattr__(self, "tone", normalize_tone(self.tone))
        language = self.language.strip() if self.language else ""
        object.__setattr__(self, "language", language or None)
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(
                f"invalid prompt style {self.prompt_style!r}; valid choices: 'study', 'plain'"
            )


def build_messages(task: str, options: PromptOptions) -> list[dict[str, str]]:
    """Chat messages for ``task``: the study's prompt, or the task alone in "plain" mode."""
    if not task.strip():
        raise ValueError("task must not be empty")
    if options.prompt_style == "plain":
        return [{"role": "user", "content": task}]
    language = options.language
    tag = re.sub(r"\s+", "", language.lower()) if language else "python"
    lines = ["Please follow these guidelines:"]
    lines += [f"- {g}" for g in GUIDELINES]
    lines += [
        "",
        f"Task: {task.strip()}",
        f"Requirement: {options.requirement}",
        f"Tone: {options.tone}",
        f"Output language: {language or 'the most suitable programming language for the task'}",
        "",
        _REQUIREMENT_INSTRUCTIONS[options.requirement],
        f"Write the answer in a {options.tone.lower()} tone.",
        "Start with a brief explanation of your approach, then give the code.",
        "Put every code block in a fenced Markdown block with a language tag "
        f"(for example ```{tag}).",
    ]
    return [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": "\n".join(lines)},
    ]
