"""Survey instruments: the study's 15 questions (``study-2025``) and instruments from TOML/YAML.

An instrument is a list of questions. A question has an ``id``, a ``text``, a ``kind``
(``single``: one option; ``multi``: several options; ``rating``: an integer in ``min..max``;
``text``: free text), its ``options`` (for single/multi), and whether it is ``required``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codearena.errors import CodearenaError

QuestionKind = Literal["single", "multi", "rating", "number", "text"]
KINDS: tuple[QuestionKind, ...] = ("single", "multi", "rating", "number", "text")
NUMBER_RANGE = (0, 1_000_000_000)  # a number question's default bounds
MAX_TEXT_CHARS = 5_000
DEFAULT_INSTRUMENT = "study-2025"


class InstrumentError(CodearenaError, ValueError):
    """An instrument file or an answer is invalid; the message says what to fix."""


def parse_number(value: Any) -> int | float | None:
    """A finite number from an answer (``"12"``, ``3.5``, ``"1,5"``), ``None`` if it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: QuestionKind
    options: tuple[str, ...] = ()
    required: bool = True
    section: str | None = None
    min: int = 1
    max: int = 5  # a rating's scale; a number question's bounds

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "options": list(self.options),
            "required": self.required,
            "section": self.section,
            "min": self.min,
            "max": self.max,
        }

    def validate(self, value: Any) -> str | list[str] | int | float | None:
        """The normalised answer, ``None`` for a blank one; raises InstrumentError."""
        if value is None or value == "" or value == []:
            return None
        if self.kind == "single":
            if not isinstance(value, str) or value not in self.options:
                raise InstrumentError(f"{self.id}: choose one of {', '.join(self.options)}")
            return value
        if self.kind == "multi":
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InstrumentError(f"{self.id}: give a list of options")
            unknown = [v for v in values if v not in self.options]
            if unknown:
                raise InstrumentError(
                    f"{self.id}: unknown option {unknown[0]!r}; choose from {', '.join(self.options)}"
                )
            return [o for o in self.options if o in values]
        if self.kind == "rating":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise InstrumentError(
                    f"{self.id}: give a whole number from {self.min} to {self.max}"
                ) from None
            if isinstance(value, bool) or not self.min <= number <= self.max:
                raise InstrumentError(f"{self.id}: give a number from {self.min} to {self.max}")
            return number
        if self.kind == "number":
            amount = parse_number(value)
            if amount is None or not self.min <= amount <= self.max:
                raise InstrumentError(f"{self.id}: give a number from {self.min} to {self.max}")
            return amount
        if not isinstance(value, str):
            raise InstrumentError(f"{self.id}: give text")
        if len(value) > MAX_TEXT_CHARS:
            raise InstrumentError(f"{self.id}: at most {MAX_TEXT_CHARS:,} characters")
        return value.strip() or None


@dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise InstrumentError(f"unknown question {question_id!r}")

    def missing(self, answers: dict[str, Any]) -> list[Question]:
        """Required questions without an answer."""
        return [q for q in self.questions if q.required and answers.get(q.id) in (None, "", [])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "questions": [q.to_dict() for q in self.questions],
        }


_LANGUAGES = ("Python", "Matlab", "Java", "C#", "PhP", "Other")
_MODEL_LABELS = (
    "GPT 3.5 Turbo",
    "GPT 4",
    "GPT 4 Turbo",
    "GPT 4o",
    "Gemini 1.5 Flash-8B",
    "Llama 3.2 3B Instruct",
    "Mixtral 8x7B Instruct",
)


def _q(
    qid: str, section: str, text: str, kind: QuestionKind, options: tuple[str, ...] = ()
) -> Question:
    return Question(qid, text, kind, options, required=kind != "text", section=section)


STUDY_2025 = Instrument(
    DEFAULT_INSTRUMENT,
    "Survey of the study (arXiv 2501.16998)",
    (
        _q(
            "q1",
            "Demographic",
            "How much experience do you have in software development?",
            "single",
            ("< 2", "2 - 5", "6 - 10", "10 - 15", "Prefer not to say"),
        ),
        _q(
            "q2",
            "Demographic",
            "What is the highest level of education you've completed?",
            "single",
            (
                "High school",
                "Bachelor's degree",
                "Master's degree",
                "Doctorate degree",
                "Prefer not to say",
                "Other",
            ),
        ),
        _q(
            "q3",
            "Demographic",
            "Where do you live?",
            "single",
            (
                "Brazil",
                "China",
                "Germany",
                "India",
                "Indonesia",
                "Mexico",
                "Philippines",
                "Russia",
                "United States",
                "United Kingdom",
                "Other",
            ),
        ),
        _q(
            "q4",
            "Demographic",
            "Which industry are you working for?",
            "single",
            ("IT (Information Technology)", "E-commerce", "Telecommunication", "Other"),
        ),
        _q(
            "q5",
            "Demographic",
            "What are your main role and function in company?",
            "single",
            ("Developer", "Senior Developer", "Project Manager", "Team Leader", "Other"),
        ),
        _q(
            "q6",
            "Demographic",
            "Which programming languages do you have experience with?",
            "multi",
            _LANGUAGES,
        ),
        _q(
            "q7",
            "Demographic",
            "What is the size of the largest project you participated in (number of developers)?",
            "single",
            ("5", "5 to 10", "10 to 15", "15 to 20"),
        ),
        _q(
            "q8",
            "Usability",
            "How easy was it to navigate and use the tool?",
            "single",
            ("Easy", "Difficult", "Other"),
        ),
        _q(
            "q9",
            "Usability",
            "Did the platform meet your expectations in terms of code generation?",
            "single",
            ("Yes", "No"),
        ),
        _q(
            "q10",
            "Performance",
            "Which programming language did you use to test the code?",
            "multi",
            _LANGUAGES,
        ),
        _q(
            "q11",
            "Performance",
            "How many project descriptions did you provide for code generation?",
            "single",
            ("1-5", "5-10", "10-15", "15-20", "Other"),
        ),
        _q(
            "q12",
            "Performance",
            "Which model performed the best in terms of code accuracy and quality?",
            "single",
            _MODEL_LABELS,
        ),
        _q(
            "q13",
            "Performance",
            "Please rate the model you found best for code accuracy",
            "rating",
        ),
        _q(
            "q14",
            "Performance",
            "Please write your opinion regarding the best model for code generation",
            "text",
        ),
        _q("q15", "Performance", "Which model performed the worst, and why?", "text"),
    ),
)
BUILTIN: dict[str, Instrument] = {STUDY_2025.name: STUDY_2025}


def instrument_from_dict(data: Any, source: str) -> Instrument:
    """Build an instrument from parsed TOML/YAML; errors name ``source`` and the question."""
    if not isinstance(data, dict):
        raise InstrumentError(f"{source}: expected a table with `name` and `questions`")
    name = data.get("name")
    questions = data.get("questions")
    if not isinstance(name, str) or not name.strip():
        raise InstrumentError(f"{source}: `name` is missing")
    if not isinstance(questions, list) or not questions:
        raise InstrumentError(f"{source}: `questions` must be a non-empty list")
    built: list[Question] = []
    seen: set[str] = set()
    for number, raw in enumerate(questions, start=1):
        where = f"{source}: question {number}"
        if not isinstance(raw, dict):
            raise InstrumentError(f"{where}: expected a table")
        unknown = set(raw) - {"id", "text", "kind", "options", "required", "section", "min", "max"}
        if unknown:
            raise InstrumentError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        qid = str(raw.get("id") or f"q{number}")
        if qid in seen:
            raise InstrumentError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        kind = raw.get("kind", "text")
        if kind not in KINDS:
            raise InstrumentError(f"{where}: kind must be one of {', '.join(KINDS)}")
        options = raw.get("options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise InstrumentError(f"{where}: options must be a list of strings")
        if kind in ("single", "multi") and not options:
            raise InstrumentError(f"{where}: a {kind} question needs options")
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InstrumentError(f"{where}: `text` is missing")
        low_default, high_default = NUMBER_RANGE if kind == "number" else (1, 5)
        low, high = int(raw.get("min", low_default)), int(raw.get("max", high_default))
        if low >= high:
            raise InstrumentError(f"{where}: min must be below max")
        built.append(
            Question(
                qid,
                text.strip(),
                kind,
                tuple(options),
                bool(raw.get("required", True)),
                raw.get("section"),
                low,
                high,
            )
        )
    return Instrument(name.strip(), str(data.get("title") or name).strip(), tuple(built))


def load_instrument_file(path: Path) -> Instrument:
    """An instrument from a ``.toml``, ``.yaml`` or ``.yml`` file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentError(f"cannot read {path}: {exc.strerror}") from exc
    if path.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            raise InstrumentError(f"{path}: invalid TOML: {exc}") from exc
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise InstrumentError(f"{path}: invalid YAML: {exc}") from exc
    else:
        raise InstrumentError(f"{path}: use a .toml, .yaml or .yml file")
    return instrument_from_dict(data, str(path))


def get_instrument(spec: str | None) -> Instrument:
    """A built-in instrument by name (default ``study-2025``), or one loaded from a file path."""
    if not spec:
        return STUDY_2025
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec).expanduser()
    if path.suffix.lower() in (".toml", ".yaml", ".yml"):
        return load_instrument_file(path)
    raise InstrumentError(
        f"unknown survey {spec!r}: use {', '.join(BUILTIN)} or a .toml/.yaml file"
    )
