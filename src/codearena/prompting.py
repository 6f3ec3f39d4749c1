"""Prompt construction and code extraction, after the study's platform (arXiv 2501.16998).

``build_messages`` turns a task and the "I want" / tone / output-language choices into chat
messages; ``extract_code`` pulls the code blocks back out of a model's Markdown reply.
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
MODES: tuple[str, ...] = ("study", "plain")
DEFAULT_TEMPERATURE = 0.5
VARIANT_COUNT = 3
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
    mode: Literal["study", "plain"] = "study"

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirement", normalize_requirement(self.requirement))
        object.__setattr__(self, "tone", normalize_tone(self.tone))
        language = self.language.strip() if self.language else ""
        object.__setattr__(self, "language", language or None)
        if self.mode not in MODES:
            raise ValueError(f"invalid mode {self.mode!r}; valid choices: 'study', 'plain'")


def build_messages(task: str, options: PromptOptions) -> list[dict[str, str]]:
    """Chat messages for ``task``: the study's prompt, or the task alone in "plain" mode."""
    if not task.strip():
        raise ValueError("task must not be empty")
    if options.mode == "plain":
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


@dataclass(frozen=True)
class CodeBlock:
    """One code block of a reply."""

    language: str | None
    source: str
    variant: int | None = None
    complete: bool = True

    def to_dict(self) -> dict[str, str | int | bool | None]:
        return {
            "language": self.language,
            "source": self.source,
            "variant": self.variant,
            "complete": self.complete,
        }


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<title>.*?))?[ \t#]*$")
_BOLD_HEADING = re.compile(r"^ {0,3}(?:\*\*|__)(?P<title>.+?)(?:\*\*|__)[ \t:]*$")
_VARIANT = re.compile(r"^[\W_]*variant\s*#?\s*(?P<n>\d+)\b", re.IGNORECASE)


@dataclass
class _Parsed:
    lines: list[str]
    blocks: list[tuple[int, CodeBlock]]  # (line of the opening fence, block)
    headings: list[tuple[int, int, int | None]]  # (line, level, variant number)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _parse(text: str) -> _Parsed:
    lines = _lines(text)
    parsed = _Parsed(lines, [], [])
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _FENCE.match(line)
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            heading = _HEADING.match(line)
            bold = None if heading else _BOLD_HEADING.match(line)
            if heading or bold:
                level = len(heading["hashes"]) if heading else 6
                title = (heading["title"] if heading else bold["title"] if bold else "") or ""
                variant = _VARIANT.match(title)
                number = int(variant["n"]) if variant else None
                if heading or number is not None:
                    parsed.headings.append((i, level, number))
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        words = match["info"].strip().strip("{}").lstrip(".").split()
        language = words[0].lower() if words else None
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            content = lines[j]
            strip = min(indent, len(content) - len(content.lstrip(" \t")))
            body.append(content[strip:])
            j += 1
        complete = j < len(lines)
        if not complete:
            while body and not body[-1].strip():
                body.pop()
        source = "\n".join(body)
        if source.strip():
            parsed.blocks.append((i, CodeBlock(language, source, None, complete)))
        i = j + 1
    return parsed


def _sections(parsed: _Parsed) -> list[tuple[int, int, int]]:
    """(variant number, first line, end line) of each variant section."""
    sections = []
    for k, (start, level, number) in enumerate(parsed.headings):
        if number is None:
            continue
        end = len(parsed.lines)
        for line, other_level, other_number in parsed.headings[k + 1 :]:
            if other_level <= level or other_number is not None:
                end = line
                break
        sections.append((number, start, end))
    return sections


def split_variants(text: str) -> list[str]:
    """Text of each ``### Variant N`` section (heading included), in order; [] if none."""
    parsed = _parse(text)
    return ["\n".join(parsed.lines[a:b]).strip() for _, a, b in _sections(parsed)]


_CODE_START = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |#include|#!|function\b|public |private |"
    r"protected |static |const |let |var |async |return\b|package |using |fn |func |"
    r"int |void |if\s*\(|for\s*\(|for \w+ in |while\s*\(|print\(|console\.|@\w|//|/\*|SELECT |CREATE )"
)
_CODE_END = re.compile(r"[;{}()\[\]:,]\s*$|^\s*[}\])]")
_PROSE = re.compile(r"^\s*[A-Z][a-z']*(?: [\w',()-]+){1,}[.!?:]?\s*$")


def _code_like(line: str) -> bool:
    if _CODE_START.match(line) or (line[:1].isspace() and line.strip()):
        return True
    return bool(_CODE_END.search(line) or re.search(r"\w\s*[-+*/]?=\s*\S", line)) and not (
        _PROSE.match(line) and not line.rstrip().endswith((";", "{", "}"))
    )


def _unfenced_code(text: str) -> CodeBlock | None:
    lines = _lines(text)
    strong = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    if not strong:
        return None
    code = [i for i, line in enumerate(lines) if line.strip() and _code_like(line)]
    first, last = min(strong[0], code[0]), code[-1]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    outside = [i for i in nonblank if i < first or i > last]
    inside = [i for i in nonblank if first <= i <= last]
    code_inside = [i for i in code if first <= i <= last]
    if len(outside) > 2 or len(code_inside) < 0.7 * len(inside):
        return None
    return CodeBlock(None, "\n".join(lines[first : last + 1]))


def extract_code(text: str) -> list[CodeBlock]:
    """Code blocks of a Markdown reply, in order, tagged with their ``### Variant N`` number.

    A reply without any fence that looks like code is returned as one untagged block; an
    unterminated fence (a cut stream) gives a block with ``complete=False``.
    """
    parsed = _parse(text)
    if not parsed.blocks:
        if any(_FENCE.match(line) for line in parsed.lines):
            return []
        block = _unfenced_code(text)
        return [block] if block else []
    sections = _sections(parsed)
    result = []
    for start, block in parsed.blocks:
        number = next((n for n, a, b in sections if a < start < b), None)
        result.append(CodeBlock(block.language, block.source, number, block.complete))
    return result


_SIGNALS: tuple[tuple[str, str], ...] = (
    (
        "python",
        r"^\s*def \w+\(.*\)\s*(->.*)?:\s*$|^import [\w.]+(\s+as \w+)?\s*$|^from [\w.]+ import ",
    ),
    ("python", r"^\s*print\(|^\s*if __name__ ==|^\s*(elif|except)\b.*:\s*$|\bself\."),
    (
        "javascript",
        r"\bfunction\b\s*\w*\s*\(|^\s*(const|let|var) \w+\s*=|=>|console\.log|require\(",
    ),
    ("java", r"\bpublic\s+(final\s+)?class\b|public static void main|System\.out\.print"),
    ("cpp", r"#include\s*<(iostream|vector|string|map|algorithm)>|std::|\bcout\b|\bnamespace\b"),
    ("c", r"#include\s*<\w+\.h>|\bprintf\s*\(|\bmalloc\s*\("),
)


def guess_language(block: CodeBlock, fallback: str | None) -> str | None:
    """The block's tag, else the requested output language, else a light guess, else None."""
    if block.language:
        return block.language
    if fallback and fallback.strip():
        return fallback.strip().lower()
    scores: dict[str, int] = {}
    for language, pattern in _SIGNALS:
        hits = len(re.findall(pattern, block.source, re.MULTILINE))
        if hits:
            scores[language] = scores.get(language, 0) + hits
    if not scores:
        return None
    return max(scores, key=lambda language: scores[language])
