"""Invites: a study's id signed with the platform's secret, so a link cannot be forged or
pointed at another study; the secret is generated once and kept in the database.

A single-use invite is a random token (``once-...``) whose SHA-256 alone is stored in
``study_invites``: the first participant who joins with it claims it, and no one else can."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from codearena.store import Store
from codearena.store.platform_models import PlatformSecret, Study, StudyInvite
from codearena.studies.errors import NotAllowed, StudyError, UnknownItem

INVALID = "this invite link is not valid: ask the researcher for a new one"
USED = (
    "this invite link has already been used by another participant: each link is for one "
    "person only, ask the researcher for your own link"
)
SINGLE_USE_PREFIX = "once-"
MAX_SINGLE_USE = 1000


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


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_single_use(store: Store, study_id: str, count: int) -> list[str]:
    """``count`` new single-use tokens for the study; only their hashes are stored, so the
    tokens returned here are the only copy."""
    if not 1 <= count <= MAX_SINGLE_USE:
        raise StudyError(f"ask for 1 to {MAX_SINGLE_USE} single-use invites, got {count}")
    tokens = [SINGLE_USE_PREFIX + secrets.token_urlsafe(24) for _ in range(count)]
    with store.session() as session:
        if session.get(Study, study_id) is None:
            raise UnknownItem("no such study")
        for token in tokens:
            session.add(StudyInvite(study_id=study_id, token_hash=token_digest(token)))
    return tokens


def single_use_url(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/join/{token}"


@dataclass(frozen=True)
class Invite:
    """What an invite token opens: the study and, for a single-use link, its row's id and the
    participant who already used it (None: still free; always None for the study's link)."""

    study: Study
    invite_id: str | None = None
    used_by: str | None = None


def resolve_invite(store: Store, secret: str, token: str) -> Invite:
    """The open study an invite token names; a forged, stale or unknown token is
    :class:`UnknownItem`, a closed study :class:`NotAllowed`."""
    invite_id: str | None = None
    used_by: str | None = None
    if token.startswith(SINGLE_USE_PREFIX):
        with store.session() as session:
            row = session.scalars(
                select(StudyInvite).where(StudyInvite.token_hash == token_digest(token))
            ).first()
            if row is None:
                raise UnknownItem(INVALID)
            study_id: object = row.study_id
            invite_id, used_by = row.id, row.participant_id
    else:
        try:
            data = _serializer(secret).loads(token)
        except BadSignature:
            raise UnknownItem(INVALID) from None
        study_id = data.get("study") if isinstance(data, dict) else None
    with store.session() as session:
        study = session.get(Study, str(study_id))
    if study is None:
        raise UnknownItem(INVALID)
    if study.status != "open":
        raise NotAllowed("this study is closed")
    return Invite(study, invite_id, used_by)


def study_from_token(store: Store, secret: str, token: str) -> Study:
    """The open study an invite token names (see :func:`resolve_invite`)."""
    return resolve_invite(store, secret, token).study
