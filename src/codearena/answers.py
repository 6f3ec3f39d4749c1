"""The code in an answer: code blocks, extraction, the one language rule, program selection.

``extract_code`` pulls the code blocks out of a model's Markdown reply once, when the answer
arrives; the pipeline stores them in ``generations.code`` and everything downstream reads them
back with :func:`stored_blocks` rather than extracting again.

The language of a block of an answer is decided in one place, :func:`program_language`, for the
CLI (``generate --run/--tests``), ``bench`` and the web Run button alike:

1. the task's output language, when the sandbox knows it;
2. ``python`` when the task's tests are Python tests;
3. the block's own fence tag (an unknown tag stays as written, so it cannot run);
4. for an untagged block, the answer's language (:func:`answer_language`): the first block whose
   tag, or for an untagged block whose guessed language (:func:`guess_language`), the sandbox
   knows; else ``python``.

:func:`select_program` then picks the block to run: the given one (the Run button), or the first
block in that language or untagged, preferring one that defines the tests' entry point, with
HumanEval's prompt prepended when there is a prefix. File extensions come from the sandbox's
language table (:func:`file_extension`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codearena.sandbox.languages import LANGUAGES, normalize_language
from codearena.sandbox.types import UnsupportedLanguage


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
    ("php", r"<\?php|^\s*echo\b.*;\s*$|^\s*\$\w+\s*=.*;\s*$"),
    (
        "csharp",
        r"^\s*using System\b|\bConsole\.(Write|WriteLine|ReadLine)\(|\bstatic (void|int) Main\(",
    ),
    ("rust", r"^\s*fn \w+|\blet mut\b|\bprintln!\(|^\s*use std::|^\s*impl\b"),
    ("ruby", r"^\s*puts\b|\.each\s+do\b|\bdo\s*\|\w+|^\s*require ['\"]|^\s*def \w+[^:]*$"),
    (
        "matlab",
        r"\b(disp|fprintf|fgetl|str2num|str2double|num2str|mat2str|numel|zeros|isempty)\(|"
        r"^\s*function\s+(\[[\w, ]*\]|\w+)\s*=|^\s*%",
    ),
)
# An answer that the signals take for JavaScript but that carries type annotations is TypeScript.
_TYPESCRIPT = re.compile(
    r":\s*(number|string|boolean|void|any|unknown)\b(\[\])?\s*[,)=;{]|^\s*(interface|type) \w+|"
    r"\bas (number|string|const)\b|<(number|string)>",
    re.MULTILINE,
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
    best = max(scores, key=lambda language: scores[language])
    if best == "javascript" and _TYPESCRIPT.search(block.source):
        return "typescript"
    return best


# --- stored blocks ------------------------------------------------------------------------


def block_from_dict(data: Mapping[str, Any]) -> CodeBlock:
    """A block as stored in ``generations.code`` (``CodeBlock.to_dict``'s keys)."""
    language = data.get("language")
    variant = data.get("variant")
    return CodeBlock(
        str(language) if language else None,
        str(data.get("source", "")),
        int(variant) if variant is not None else None,
        bool(data.get("complete", True)),
    )


def stored_blocks(code: Iterable[Mapping[str, Any]] | None, text: str = "") -> list[CodeBlock]:
    """The stored blocks of an answer; only an answer stored without any (``None``) is
    extracted from ``text``."""
    if code is None:
        return extract_code(text)
    return [block_from_dict(b) for b in code]


# --- the one language rule ------------------------------------------------------------------


def _known(tag: str | None) -> str | None:
    if not tag or not tag.strip():
        return None
    try:
        return normalize_language(tag)
    except UnsupportedLanguage:
        return None


def tag_language(block: CodeBlock) -> str | None:
    """The block's fence tag, canonical when the sandbox knows it, as written when not."""
    if not block.language:
        return None
    return _known(block.language) or block.language.strip().lower()


def required_language(task_language: str | None, test_kind: str | None) -> str | None:
    """The language the task imposes: its output language (if the sandbox knows it), else
    ``python`` for Python tests, else None (the answer decides)."""
    known = _known(task_language)
    if known:
        return known
    return "python" if test_kind == "python" else None


def answer_language(
    blocks: Sequence[CodeBlock],
    *,
    task_language: str | None = None,
    test_kind: str | None = None,
) -> str:
    """The language to run an answer in: the task's language (see :func:`required_language`),
    else the first block whose tag (or, untagged, guessed language) the sandbox knows, else
    ``python``."""
    required = required_language(task_language, test_kind)
    if required:
        return required
    for block in blocks:
        known = _known(block.language) if block.language else _known(guess_language(block, None))
        if known:
            return known
    return "python"


def program_language(
    blocks: Sequence[CodeBlock],
    index: int,
    *,
    task_language: str | None = None,
    test_kind: str | None = None,
) -> str:
    """The language block ``index`` of an answer runs in: the task's language, else the block's
    tag (as written when the sandbox does not know it), else the answer's language."""
    required = required_language(task_language, test_kind)
    if required:
        return required
    return tag_language(blocks[index]) or answer_language(blocks)


# --- program selection ----------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """The code chosen from a reply, ready to run."""

    source: str
    language: str
    block_index: int | None


def select_program(
    blocks: Sequence[CodeBlock],
    *,
    task_language: str | None = None,
    test_kind: str | None = None,
    entry_point: str | None = None,
    prefix: str | None = None,
    block_index: int | None = None,
) -> Program | None:
    """The block to run and its language (:func:`program_language`); None if no block fits.

    With ``block_index`` (the web Run button) that block runs. Otherwise the first block in the
    answer's language (or untagged) runs, the first one defining ``entry_point`` if one does.
    With a ``prefix`` (HumanEval's prompt), a block that defines the whole function runs after
    the prompt (so the prompt's imports and helper functions stay defined); a bare body
    continues it.
    """
    rule = {"task_language": task_language, "test_kind": test_kind}
    if block_index is not None:
        if not 0 <= block_index < len(blocks):
            return None
        index: int = block_index
    else:
        language = answer_language(blocks, **rule)
        fitting = [i for i, b in enumerate(blocks) if tag_language(b) in (None, language)]
        if not fitting:
            return None
        index = fitting[0]
        if entry_point:
            defining = re.compile(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
            index = next((i for i in fitting if defining.search(blocks[i].source)), index)
    source = blocks[index].source
    if prefix is not None:
        defines = entry_point and re.search(rf"^def\s+{re.escape(entry_point)}\b", source, re.M)
        source = f"{prefix}\n\n{source}\n" if defines else f"{prefix}{source}\n"
    return Program(source, program_language(blocks, index, **rule), index)


def code_for_checks(blocks: Sequence[CodeBlock], language: str | None) -> tuple[str, str | None]:
    """The answer's code in its main language (``language`` if given, else the first block's
    tag), the untagged blocks and the blocks in that language joined."""
    if not blocks:
        return "", language
    wanted = language or tag_language(blocks[0])
    chosen = [b.source for b in blocks if tag_language(b) in (wanted, None)]
    return "\n\n".join(chosen) + "\n", wanted


# --- file names -----------------------------------------------------------------------------

# Download names for languages the sandbox cannot run (its table covers the rest).
_OTHER_EXTENSIONS = {
    "sql": "sql",
    "html": "html",
    "kotlin": "kt",
    "kt": "kt",
    "swift": "swift",
}


def file_extension(language: str | None) -> str:
    """The file extension (no dot) for a block's language: from the sandbox's language table,
    a few languages it cannot run, else ``txt``."""
    known = _known(language)
    if known:
        return LANGUAGES[known].extensions[0].lstrip(".")
    return _OTHER_EXTENSIONS.get((language or "").strip().lower(), "txt")
