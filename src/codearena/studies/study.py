"""A study's settings and life: validated creation (the web form, the API and ``codearena study
create`` share it), listing, lookup by owner, opening and closing, and the progress counts."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Select, func, select

from codearena.catalog import Catalog, UnknownModel
from codearena.store import Store, study_rows
from codearena.store.models import Generation
from codearena.store.platform_models import DesignTask, Participant, Study
from codearena.store.vocabulary import PAIRINGS, STUDY_DESIGNS
from codearena.studies.errors import StudyError, UnknownItem
from codearena.survey import InstrumentError, get_instrument
from codearena.survey.instruments import BUILTIN

MODES = ("named", "blind")
PROMPT_OPTIONS = ("requirement", "tone", "language")
MIN_MODELS, MAX_MODELS = 2, 8
DEFAULT_CONSENT = (
    "You are invited to take part in a study of how practitioners judge code written by large "
    "language models. You will describe programming tasks, read the answers of several models, "
    "run their code in a sandbox, rate them and answer a short survey. Your tasks, ratings and "
    "answers are stored under an anonymous participant id; your pseudonym and e-mail are never "
    "exported. Do not enter personal or confidential information in tasks. You can stop at any "
    "time."
)


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class TaskFileItem(BaseModel):
    """One task of a controlled study's task file (``studies.task_file.load_task_file``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    prompt: str
    category: str | None = None
    language: str | None = None
    tests: dict[str, Any] | None = None


class StudySpec(BaseModel):
    """A new study's settings, the one input of :func:`create_study` for every front door.

    ``models`` is a list or one string of ids separated by commas or new lines (the form's text
    area, the CLI's ``--models``); an empty string is no value for ``survey`` and the budgets."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    models: list[str]
    mode: str = "named"
    description: str = ""
    consent_text: str = ""
    prompt_options: list[str] = Field(default_factory=lambda: list(PROMPT_OPTIONS))
    survey: str | None = Field(default=None, description="study-2025 (default)")
    budget_tasks: int | None = None
    budget_usd: float | None = None
    spend_cap_usd: float | None = Field(
        default=None, description="the whole study's generation cost in USD (None: no cap)"
    )
    pairing: str = Field(
        default="uniform", description="blind studies: uniform or adaptive (stats.pairing)"
    )
    design: str = Field(default="open", description="open, crossover or between")
    design_tasks: list[TaskFileItem] = Field(
        default_factory=list, description="controlled designs: the task file's tasks, in order"
    )
    tasks_per_participant: int | None = None
    seed: int | None = Field(
        default=None, description="the design's seed (None: drawn at random, then stored)"
    )

    @field_validator("models", mode="before")
    @classmethod
    def _split_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(",", "\n").splitlines()
        return value

    @field_validator(
        "survey",
        "budget_tasks",
        "budget_usd",
        "spend_cap_usd",
        "tasks_per_participant",
        "seed",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("pairing", "design", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if _blank_is_none(value) is None:
            return "uniform" if info.field_name == "pairing" else "open"
        return value


def _models(catalog: Catalog, given: Sequence[str]) -> list[str]:
    models = list(dict.fromkeys(m.strip() for m in given if m.strip()))
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise StudyError(
            f"a study needs {MIN_MODELS} to {MAX_MODELS} different models, got {len(models)}"
        )
    for model in models:
        try:
            catalog.resolve(model)
        except UnknownModel as exc:
            raise StudyError(str(exc)) from exc
    return models


def _options(given: Sequence[str]) -> list[str]:
    options = [o for o in given if o]
    bad = [o for o in options if o not in PROMPT_OPTIONS]
    if bad:
        raise StudyError(f"unknown prompt option {bad[0]!r}; use {', '.join(PROMPT_OPTIONS)}")
    return options


def create_study(
    store: Store,
    catalog: Catalog,
    spec: StudySpec,
    owner_id: str | None = None,
    *,
    survey_files: bool = False,
) -> Study:
    """Validate and store a study. Survey files are read only when ``survey_files`` is set (the
    CLI): through the web a researcher picks a built-in instrument and never names a server path."""
    name = spec.name.strip()
    if not name or len(name) > 200:
        raise StudyError("give the study a name (at most 200 characters)")
    models = _models(catalog, spec.models)
    if spec.mode not in MODES:
        raise StudyError(f"invalid mode {spec.mode!r}; use named or blind")
    options = _options(spec.prompt_options)
    if spec.budget_tasks is not None and spec.budget_tasks < 1:
        raise StudyError("the task budget must be at least 1")
    if spec.budget_usd is not None and spec.budget_usd <= 0:
        raise StudyError("the USD budget must be positive")
    if spec.spend_cap_usd is not None and not spec.spend_cap_usd > 0:
        raise StudyError("the study's spend cap must be a positive amount of USD")
    if spec.survey and spec.survey not in BUILTIN and not survey_files:
        raise StudyError(
            f"unknown survey {spec.survey!r}: choose {', '.join(BUILTIN)}; instruments from "
            "files are loaded with `codearena study create --survey FILE`"
        )
    try:
        instrument = get_instrument(spec.survey)
    except InstrumentError as exc:
        raise StudyError(str(exc)) from exc
    seed = _check_design(spec, spec.mode)
    with store.session() as session:
        study = Study(
            name=name,
            description=spec.description.strip(),
            consent_text=spec.consent_text.strip() or DEFAULT_CONSENT,
            models=models,
            mode=spec.mode,
            prompt_options=options,
            survey_name=instrument.name,
            survey=instrument.to_dict(),
            budget_tasks=spec.budget_tasks,
            budget_usd=spec.budget_usd,
            spend_cap_usd=spec.spend_cap_usd,
            status="open",
            owner_id=owner_id,
            pairing=spec.pairing,
            design=spec.design,
            design_seed=seed,
            tasks_per_participant=spec.tasks_per_participant,
        )
        session.add(study)
        session.flush()
        for position, task in enumerate(spec.design_tasks):
            session.add(
                DesignTask(
                    study_id=study.id,
                    key=task.key,
                    position=position,
                    prompt=task.prompt,
                    category=task.category,
                    language=task.language,
                    tests=task.tests,
                )
            )
    return study


def _check_design(spec: StudySpec, mode: str) -> int | None:
    """The design's settings checked; returns the seed to store (drawn when none is given)."""
    if spec.pairing not in PAIRINGS:
        raise StudyError(f"invalid pairing {spec.pairing!r}; use {' or '.join(PAIRINGS)}")
    if spec.pairing == "adaptive" and (mode != "blind" or spec.design != "open"):
        raise StudyError(
            "adaptive pairing draws the pairs of an open blind study; a controlled design "
            "assigns them itself, and a named study has no pairs"
        )
    if spec.design not in STUDY_DESIGNS:
        raise StudyError(f"invalid design {spec.design!r}; use {', '.join(STUDY_DESIGNS)}")
    if spec.design == "open":
        if spec.design_tasks or spec.tasks_per_participant is not None:
            raise StudyError(
                "a task file and --tasks-per-participant belong to a controlled design: "
                "add --design crossover or --design between"
            )
        return None
    if not spec.design_tasks:
        raise StudyError(
            f"a {spec.design} study needs its task file: --tasks FILE.jsonl (one task per line)"
        )
    keys = [task.key for task in spec.design_tasks]
    if len(set(keys)) != len(keys):
        raise StudyError("the task file's ids must be unique")
    count = len(spec.design_tasks)
    per = spec.tasks_per_participant
    if per is not None and not 1 <= per <= count:
        raise StudyError(f"--tasks-per-participant must be between 1 and {count} (the tasks)")
    if spec.seed is not None and not 0 <= spec.seed < 2**31:
        raise StudyError("--seed must be between 0 and 2147483647")
    return spec.seed if spec.seed is not None else secrets.randbelow(2**31)


def list_studies(store: Store, owner_id: str | None = None) -> list[Study]:
    """Newest first; ``owner_id`` keeps one researcher's studies (None: every study)."""
    query = select(Study).order_by(Study.created_at.desc())
    if owner_id is not None:
        query = query.where(Study.owner_id == owner_id)
    with store.session() as session:
        return list(session.scalars(query))


def get_study(store: Store, study_id: str) -> Study:
    with store.session() as session:
        study = session.get(Study, study_id)
    if study is None:
        raise UnknownItem("no such study")
    return study


def owned_study(store: Store, study_id: str, owner_id: str | None) -> Study:
    """The study if ``owner_id`` owns it (None: an admin, who may see every study); another
    researcher's study is reported exactly like a missing one."""
    study = get_study(store, study_id)
    if owner_id is not None and study.owner_id != owner_id:
        raise UnknownItem("no such study")
    return study


def set_status(store: Store, study_id: str, status: str) -> Literal["open", "closed"]:
    """Open or close a study; returns the stored status."""
    if status not in ("open", "closed"):
        raise StudyError("status must be open or closed")
    value: Literal["open", "closed"] = "open" if status == "open" else "closed"
    with store.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise UnknownItem("no such study")
        study.status = value
    return value


def _count(store: Store, query: Select[Any]) -> int:
    with store.session() as session:
        rows = query.order_by(None).subquery()
        return int(session.scalar(select(func.count()).select_from(rows)) or 0)


def study_stats(store: Store, study_id: str) -> dict[str, int]:
    """The researcher's progress counts, over the rows ``store.study_rows`` says are the study's
    (so they agree with the dashboard, the report and an export)."""
    participants = study_rows.participants(study_id)
    return {
        "participants": _count(store, participants),
        "consented": _count(store, participants.where(Participant.consented_at.is_not(None))),
        "tasks": _count(store, study_rows.study_tasks(study_id)),
        "votes": _count(store, study_rows.votes(study_id)),
        "surveys_completed": _count(
            store, participants.where(Participant.survey_completed_at.is_not(None))
        ),
    }


def study_spend(store: Store, study_id: str) -> float:
    """The cost in USD of every generation of the study so far: its tasks' and the calls made
    through the OpenAI-compatible endpoint with one of its API tokens (unknown costs: 0)."""
    return sum(_spend(store, study_id))


def _spend(store: Store, study_id: str) -> tuple[float, float]:
    """(the study tasks' generation cost, the study's API calls' cost), in USD."""
    with store.session() as session:
        tasks = session.scalar(
            select(func.coalesce(func.sum(Generation.cost_usd), 0.0)).where(
                Generation.task_id.in_(study_rows.task_ids(study_id))
            )
        )
        api = session.scalar(
            select(func.coalesce(func.sum(Generation.cost_usd), 0.0)).where(
                Generation.task_id.in_(study_rows.api_task_ids(study_id))
            )
        )
    return float(tasks or 0.0), float(api or 0.0)


SPEND_CAP_REACHED = (
    "this study has reached its spending limit, so no new tasks can be started; thank you! "
    "You can still rate your answers and go on to the survey"
)


def spend_cap_reason(store: Store, study: Study) -> str | None:
    """Why nobody can start a new task of the study (its spend cap is reached), or None."""
    if study.spend_cap_usd is not None and study_spend(store, study.id) >= study.spend_cap_usd:
        return SPEND_CAP_REACHED
    return None


def spend_view(store: Store, study: Study) -> dict[str, float | None]:
    """The study's spend and cap for the researcher (``spent_usd``, ``spend_cap_usd``; of the
    spend, ``api_spent_usd`` came from calls with the study's API tokens)."""
    tasks, api = _spend(store, study.id)
    return {
        "spent_usd": round(tasks + api, 6),
        "api_spent_usd": round(api, 6),
        "spend_cap_usd": study.spend_cap_usd,
    }
