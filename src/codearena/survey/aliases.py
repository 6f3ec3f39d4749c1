"""Matching answers written in a form export to an instrument's options.

Text is compared after :func:`normalize` (Unicode compatibility forms, curly quotes and dashes,
case, runs of any Unicode space, trailing newlines and trailing sentence punctuation). An answer
that is no option after that is looked up in the researcher's alias file (a flat TOML table
``[aliases]`` of ``"text seen" = "option"`` pairs, matched with the same normalisation, so
case-insensitively). Nothing is ever guessed by fuzzy matching: what still matches no option is
recorded under the question's "Other" option and reported, so that the alias file can be extended.

The same file can map columns and link respondents (both optional)::

    [aliases]
    "C##" = "C#"

    [columns]            # a header that is not the question's text, to the question's number
    "Years coding" = 3

    [link]               # the column naming a platform participant (id, e-mail or pseudonym)
    column = "Participant code"
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codearena.errors import CodearenaError
from codearena.survey.instruments import Question, parse_number

OTHER = "Other"
_SPACES = re.compile(r"\s+")
_TRAILING = " .,;:!?*"
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
_INTEGER = re.compile(r"[+-]?\d+(?:\.0*)?")


class AliasError(CodearenaError, ValueError):
    """The alias file cannot be used; the message says what to fix."""


def normalize(text: str) -> str:
    """The form of ``text`` used for every comparison of headers and answers."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")  # zero-width, BOM
    return _SPACES.sub(" ", text.casefold()).strip().rstrip(_TRAILING)


def clean(text: str) -> str:
    """``text`` as written, with its spaces tidied: how unknown answers are shown."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def other_option(question: Question) -> str:
    """The option unknown answers count under: an "Other"-style option, else ``Other``."""
    for option in question.options:
        if normalize(option) == "other" or normalize(option).startswith("other "):
            return option
    return OTHER


@dataclass(frozen=True)
class Aliases:
    """The alias file: ``"text seen" = "option"`` pairs keyed by the normalised text seen,
    ``columns`` (normalised header -> question number) and the ``link`` column's header."""

    table: dict[str, str] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    link: str | None = None

    def lookup(self, text: str) -> str | None:
        return self.table.get(normalize(text))


_TABLES = ("aliases", "columns", "link")


def aliases_from_dict(data: Any, source: str) -> Aliases:
    if not isinstance(data, dict) or not any(isinstance(data.get(t), dict) for t in _TABLES):
        raise AliasError(
            f'{source}: expected a table [aliases] of "text seen" = "option" pairs '
            '(and optionally [columns] of "header" = question number, [link] column = "header")'
        )
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise AliasError(
            f"{source}: unknown table or key {unknown[0]!r}; only [aliases], [columns] and "
            "[link] are read"
        )
    for name in _TABLES:
        if name in data and not isinstance(data[name], dict):
            raise AliasError(f"{source}: {name} must be a table ([{name}])")
    table: dict[str, str] = {}
    for seen, option in data.get("aliases", {}).items():
        if not isinstance(option, str) or not option.strip():
            raise AliasError(f"{source}: alias {seen!r} must map to an option (a string)")
        key = normalize(seen)
        if not key:
            raise AliasError(f"{source}: alias {seen!r} is blank after normalisation")
        if key in table and normalize(table[key]) != normalize(option):
            raise AliasError(
                f"{source}: {seen!r} is given twice (case and spaces are ignored) "
                f"with different options: {table[key]!r} and {option!r}"
            )
        table[key] = option
    columns: dict[str, int] = {}
    for header, number in data.get("columns", {}).items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise AliasError(
                f"{source}: [columns] {header!r} must map to a question number (1, 2, ...), "
                f"not {number!r}"
            )
        key = normalize(header)
        if not key:
            raise AliasError(f"{source}: [columns] header {header!r} is blank")
        if key in columns and columns[key] != number:
            raise AliasError(f"{source}: [columns] {header!r} is given twice")
        columns[key] = number
    link = data.get("link", {})
    if set(link) - {"column"}:
        raise AliasError(f'{source}: [link] takes one key, column = "header of the column"')
    column = link.get("column")
    if column is not None and (not isinstance(column, str) or not normalize(column)):
        raise AliasError(f"{source}: [link] column must be a header (a string), not {column!r}")
    return Aliases(table, columns, column)


def load_aliases(path: Path) -> Aliases:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AliasError(f"cannot read the alias file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise AliasError(f"the alias file {path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise AliasError(f"{path}: invalid TOML: {exc}") from exc
    return aliases_from_dict(data, str(path))


def check_targets(aliases: Aliases, questions: tuple[Question, ...]) -> None:
    """Every alias must lead to an option (or a valid rating) of some question: catches typos."""
    known = {normalize(o) for q in questions for o in q.options} | {normalize(OTHER)}
    for q in questions:
        known |= {normalize(other_option(q))}
        if q.kind == "rating":
            known |= {str(n) for n in range(q.min, q.max + 1)}
    numeric = any(q.kind == "number" for q in questions)
    for seen, option in aliases.table.items():
        if numeric and parse_number(option) is not None:
            continue
        if normalize(option) not in known:
            raise AliasError(
                f"alias {seen!r} = {option!r}: {option!r} is not an option of any question"
            )


@dataclass
class Matched:
    """An answer's canonical value and the texts in it that matched nothing."""

    value: str | list[str] | int | float
    unknown: list[str] = field(default_factory=list)


def _option(question: Question, text: str, aliases: Aliases) -> str | None:
    options = {normalize(o): o for o in question.options}
    other = other_option(question)
    for candidate in (text, aliases.lookup(text)):
        if candidate is None:
            continue
        key = normalize(candidate)
        if key in options:
            return options[key]
        if candidate is not text and key == normalize(other):
            return other  # an alias may file known "other" answers without reporting them
    return None


def _rating(question: Question, text: str, aliases: Aliases) -> int | None:
    for candidate in (text, aliases.lookup(text)):
        if candidate is not None and _INTEGER.fullmatch(normalize(candidate)):
            number = int(float(normalize(candidate)))
            if question.min <= number <= question.max:
                return number
    return None


def match_answer(question: Question, cell: str, aliases: Aliases) -> Matched | None:
    """The value to store for ``cell`` (same shapes as the platform), ``None`` when blank."""
    if not normalize(cell):
        return None
    if question.kind == "text":
        return Matched(cell.strip())
    other = other_option(question)
    if question.kind == "rating":
        number = _rating(question, cell, aliases)
        return Matched(number) if number is not None else Matched(other, [clean(cell)])
    if question.kind == "number":
        for candidate in (cell, aliases.lookup(cell)):
            amount = parse_number(candidate) if candidate is not None else None
            if amount is not None and question.min <= amount <= question.max:
                return Matched(amount)
        return Matched(other, [clean(cell)])
    if question.kind == "single":
        option = _option(question, cell, aliases)
        return Matched(option) if option is not None else Matched(other, [clean(cell)])
    chosen: set[str] = set()
    unknown: list[str] = []
    for part in cell.split(";"):
        if not normalize(part):
            continue
        option = _option(question, part, aliases)
        if option is None:
            option = other
            if normalize(part) not in {normalize(u) for u in unknown}:
                unknown.append(clean(part))
        chosen.add(option)
    if not chosen:
        return None
    value = [o for o in question.options if o in chosen]
    if other in chosen and other not in question.options:
        value.append(other)
    return Matched(value, unknown)
