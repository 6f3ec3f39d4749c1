"""Untrusted text on a terminal: every character that could act on the terminal made visible.

Program output, model answers, survey answers and the contents of imported files reach the
commands' output. Printed raw, an escape sequence in them can write the clipboard (OSC 52), set
the window title, move the cursor to overwrite a verdict, and bidi overrides can show text in
another order than it is stored. :func:`printable` replaces each such character with its escape
as Python writes it in a string literal: ``\\x`` and two hex digits up to U+00FF (ESC is the four
characters ``\\x1b``, carriage return ``\\x0d``), ``\\u`` and four hex digits above (RLO is
``\\u202e``). Backslashes already in the text are left as they are, so code reads as written; the
escaped form is for reading, the exact text is in the ``--json`` output.

Escaped (:data:`UNSAFE`):

* C0 controls except tab and newline (NUL, BEL, backspace, carriage return, ESC, ...) and DEL;
* C1 controls (U+0080 to U+009F; U+009B is a one-character CSI for some terminals);
* bidi controls: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the
  invisible marks LRM, RLM and ALM (U+200E, U+200F, U+061C);
* invisible characters with no place in terminal text: zero-width space U+200B, word joiner and
  invisible operators U+2060-U+2064, the deprecated format characters U+206A-U+206F, interlinear
  annotation U+FFF9-U+FFFB, the byte order mark U+FEFF, and the line and paragraph separators
  U+2028 and U+2029;
* lone surrogates (U+D800-U+DFFF), which cannot be encoded for the terminal at all.

Kept: tab, newline, every letter, digit, symbol and emoji, and the joiners U+200C/U+200D and
variation selectors that emoji sequences and several scripts need.

:func:`escape_json` is for JSON text from :func:`json.dumps`: it writes the same characters as
``\\uXXXX`` escapes inside the strings, so the JSON decodes to exactly the original values and is
still safe to print (``json.dumps`` escapes C0 controls itself but, with ``ensure_ascii=False``,
leaves DEL, C1 and bidi controls raw).

This module imports nothing of codearena, so every package (``sandbox/`` included) may use it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["UNSAFE", "escape_json", "printable"]

_RANGES: Final = (
    (0x00, 0x08),  # C0 before tab
    (0x0B, 0x1F),  # C0 after newline: VT, FF, CR, ..., ESC, ...
    (0x7F, 0x9F),  # DEL and C1
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x200B, 0x200B),  # ZERO WIDTH SPACE
    (0x200E, 0x200F),  # LRM, RLM
    (0x2028, 0x2029),  # LINE SEPARATOR, PARAGRAPH SEPARATOR
    (0x202A, 0x202E),  # LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x2064),  # WORD JOINER and the invisible operators
    (0x2066, 0x2069),  # LRI, RLI, FSI, PDI
    (0x206A, 0x206F),  # deprecated format characters
    (0xD800, 0xDFFF),  # surrogates
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE (byte order mark)
    (0xFFF9, 0xFFFB),  # interlinear annotation
)

UNSAFE: Final = frozenset(cp for low, high in _RANGES for cp in range(low, high + 1))
"""The code points :func:`printable` escapes."""

_FIND: Final = re.compile(
    "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _RANGES) + "]"
)
_SHOWN: Final = {cp: f"\\x{cp:02x}" if cp <= 0xFF else f"\\u{cp:04x}" for cp in UNSAFE}
_IN_JSON: Final = {cp: f"\\u{cp:04x}" for cp in UNSAFE}


def printable(text: str) -> str:
    """``text`` with every :data:`UNSAFE` character replaced by its escape (``\\x1b``,
    ``\\u202e``); text without one is returned as it is."""
    if _FIND.search(text) is None:
        return text
    return text.translate(_SHOWN)


def escape_json(dumped: str) -> str:
    """JSON text from :func:`json.dumps` with every raw :data:`UNSAFE` character written as a
    ``\\uXXXX`` escape; it decodes to the same value."""
    if _FIND.search(dumped) is None:
        return dumped
    return dumped.translate(_IN_JSON)
