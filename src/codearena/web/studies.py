"""Studies: creation (pages, API and CLI share it), invites as signed tokens, and joining."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from codearena.catalog import Catalog, UnknownModel
from codearena.store import Store
from codearena.store.platform_models import (
    Participant,
    PlatformSecret,
    Study,
    StudyTask,
    Vote,
)
from codearena.survey import InstrumentError, get_instrument
from codearena.survey.instruments import BUILTIN
from codearena.web.auth import Principal
from codearena.web.errors import ApiError, Forbidden, NotFound

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


class StudyInputError(ValueError):
    """Invalid study settings; the message says what to fix."""


@dataclass(frozen=True)
class StudySpec:
    name: str
    models: Sequence[str]
    mode: str = "named"
    description: str = ""
    consent_text: str = ""
    prompt_options: Sequence[str] = PROMPT_OPTIONS
    survey: str | None = None
    budget_tasks: int | None = None
    budget_usd: float | None = None


def platform_secret(store: Store, name: str = "signing") -> str:
    """The platform's signing secret, generated once and kept in the database."""
    with store.session() as session:
        row = session.get(PlatformSecret, name)
        if row is not None:
            return row.value
    value = secrets.token_urlsafe(32)
    try:
        with store.session() as session:
            session.add(PlatformSecret(name=name, value=value))
    except IntegrityError:  # another process created it first
        pass
    with store.session() as session:
        row = session.get(PlatformSecret, name)
        assert row is not None
        return row.value


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="codearena-invite")


def invite_token(secret: str, study_id: str) -> str:
    return _serializer(secret).dumps({"study": study_id})


def invite_url(secret: str, study_id: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/join/{invite_token(secret, study_id)}"


def study_from_token(store: Store, secret: str, token: str) -> Study:
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise NotFound("this invite link is not valid: ask the researcher for a new one") from None
    study_id = data.get("study") if isinstance(data, dict) else None
    with store.session() as session:
        study = session.get(Study, str(study_id))
    if study is None:
        raise NotFound("this invite link is not valid: ask the researcher for a new one")
    if study.status != "open":
        raise Forbidden("this study is closed")
    return study


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
        raise StudyInputError("give the study a name (at most 200 characters)")
    models = list(dict.fromkeys(m.strip() for m in spec.models if m.strip()))
    if not MIN_MODELS <= len(models) <= MAX_MODELS:
        raise StudyInputError(
            f"a study needs {MIN_MODELS} to {MAX_MODELS} different models, got {len(models)}"
        )
    for model in models:
        try:
            catalog.resolve(model)
        except UnknownModel as exc:
            raise StudyInputError(str(exc)) from exc
    if spec.mode not in MODES:
        raise StudyInputError(f"invalid mode {spec.mode!r}; use named or blind")
    options = [o for o in spec.prompt_options if o]
    bad = [o for o in options if o not in PROMPT_OPTIONS]
    if bad:
        raise StudyInputError(f"unknown prompt option {bad[0]!r}; use {', '.join(PROMPT_OPTIONS)}")
    if spec.budget_tasks is not None and spec.budget_tasks < 1:
        raise StudyInputError("the task budget must be at least 1")
    if spec.budget_usd is not None and spec.budget_usd <= 0:
        raise StudyInputError("the USD budget must be positive")
    if spec.survey and spec.survey not in BUILTIN and not survey_files:
        raise StudyInputError(
            f"unknown survey {spec.survey!r}: choose {', '.join(BUILTIN)}; instruments from "
            "files are loaded with `codearena study create --survey FILE`"
        )
    try:
        instrument = get_instrument(spec.survey)
    except InstrumentError as exc:
        raise StudyInputError(str(exc)) from exc
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
            status="open",
            owner_id=owner_id,
        )
        session.add(study)
    return study


def list_studies(store: Store, principal: Principal | None = None) -> list[Study]:
    query = select(Study).order_by(Study.created_at.desc())
    if principal is not None and principal.role != "admin":
        query = query.where(Study.owner_id == principal.user_id)
    with store.session() as session:
        return list(session.scalars(query))


def get_owned_study(store: Store, principal: Principal, study_id: str) -> Study:
    with store.session() as session:
        study = session.get(Study, study_id)
    if study is None or (principal.role != "admin" and study.owner_id != principal.user_id):
        raise NotFound("no such study")
    return study


def set_status(store: Store, study_id: str, status: str) -> None:
    if status not in ("open", "closed"):
        raise ApiError(400, "status must be open or closed")
    with store.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound("no such study")
        study.status = "open" if status == "open" else "closed"


def study_stats(store: Store, study_id: str) -> dict[str, int]:
    with store.session() as session:

        def count(model: Any, *where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "participants": count(Participant, Participant.study_id == study_id),
            "consented": count(
                Participant, Participant.study_id == study_id, Participant.consented_at.is_not(None)
            ),
            "tasks": count(StudyTask, StudyTask.study_id == study_id),
            "votes": count(Vote, Vote.study_id == study_id),
            "surveys_completed": count(
                Participant,
                Participant.study_id == study_id,
                Participant.survey_completed_at.is_not(None),
            ),
        }


def study_dict(study: Study, secret: str, base_url: str) -> dict[str, Any]:
    return {
        "id": study.id,
        "name": study.name,
        "description": study.description,
        "consent_text": study.consent_text,
        "models": study.models,
        "mode": study.mode,
        "prompt_options": study.prompt_options,
        "survey": study.survey_name,
        "budget_tasks": study.budget_tasks,
        "budget_usd": study.budget_usd,
        "status": study.status,
        "created_at": study.created_at.isoformat(),
        "invite_url": invite_url(secret, study.id, base_url),
    }


def join(store: Store, study: Study, pseudonym: str, email: str | None) -> Participant:
    pseudonym = pseudonym.strip()
    if not pseudonym or len(pseudonym) > 100:
        raise ApiError(400, "choose a pseudonym (1 to 100 characters)")
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 320):
        raise ApiError(400, "the e-mail address is not valid (it is optional: leave it empty)")
    with store.session() as session:
        participant = Participant(study_id=study.id, pseudonym=pseudonym, email=email)
        session.add(participant)
    return participant


def consent(store: Store, participant_id: str) -> None:
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise NotFound("no such participant")
        if participant.consented_at is None:
            participant.consented_at = datetime.now(UTC)


def get_study(store: Store, study_id: str) -> Study:
    with store.session() as session:
        study = session.get(Study, study_id)
    if study is None:
        raise NotFound("no such study")
    return study
