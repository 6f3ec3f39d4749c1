"""Accounts and sessions: argon2 password hashes, DB-backed sessions in HttpOnly cookies."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from sqlalchemy import select

from codearena.store import Store
from codearena.store.platform_models import Participant, WebSession, WebUser
from codearena.web.errors import ConsentRequired, Forbidden, LoginRequired

ROLES = ("admin", "researcher")
SESSION_COOKIE = "codearena_session"
SESSION_DAYS = 14
MIN_PASSWORD = 8
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist. Made on the first such login,
    not at import: argon2 takes 64 MB for it, which would stay in every process's peak RSS (the
    endpoint's serving process included) whether or not anyone ever logs in."""
    return _HASHER.hash("not-a-password-of-anyone")


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an admin, a researcher or a participant of one study."""

    role: str
    user_id: str | None = None
    email: str | None = None
    participant_id: str | None = None
    study_id: str | None = None
    consented: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in ROLES


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def create_user(store: Store, email: str, role: str, password: str) -> WebUser:
    email = email.strip().lower()
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}; use admin or researcher")
    if "@" not in email or len(email) > 320:
        raise ValueError(f"invalid email {email!r}")
    hashed = hash_password(password)
    with store.session() as session:
        if session.scalars(select(WebUser).where(WebUser.email == email)).first():
            raise ValueError(f"a user with email {email} already exists")
        user = WebUser(email=email, role=role, password_hash=hashed)
        session.add(user)
    return user


def authenticate(store: Store, email: str, password: str) -> WebUser | None:
    with store.session() as session:
        user = session.scalars(
            select(WebUser).where(WebUser.email == email.strip().lower())
        ).first()
    if user is None:
        _verify(_dummy_hash(), password)  # same work whether or not the account exists
        return None
    return user if _verify(user.password_hash, password) else None


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    store: Store,
    request: Request,
    response: Response,
    *,
    user_id: str | None = None,
    participant_id: str | None = None,
) -> None:
    """A new session (a fresh token: no fixation), replacing the browser's previous one."""
    end_session(store, request, response)
    token = secrets.token_urlsafe(32)
    with store.session() as session:
        session.add(
            WebSession(
                token_hash=_digest(token),
                user_id=user_id,
                participant_id=participant_id,
                expires_at=datetime.now(UTC) + timedelta(days=SESSION_DAYS),
            )
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def end_session(store: Store, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with store.session() as session:
            row = session.get(WebSession, _digest(token))
            if row is not None:
                session.delete(row)
    response.delete_cookie(SESSION_COOKIE, path="/")


def load_principal(store: Store, request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with store.session() as session:
        row = session.get(WebSession, _digest(token))
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if expires < datetime.now(UTC):
            session.delete(row)
            return None
        if row.user_id:
            user = session.get(WebUser, row.user_id)
            return Principal(user.role, user.id, user.email) if user else None
        if row.participant_id:
            participant = session.get(Participant, row.participant_id)
            if participant is None:
                return None
            return Principal(
                "participant",
                participant_id=participant.id,
                study_id=participant.study_id,
                consented=participant.consented_at is not None,
            )
    return None


def owner_filter(principal: Principal) -> str | None:
    """Whose studies a staff member sees: a researcher their own, an admin every study (None)."""
    return None if principal.role == "admin" else principal.user_id


def require_staff(principal: Principal | None) -> Principal:
    if principal is None:
        raise LoginRequired("sign in as a researcher first")
    if not principal.is_staff:
        raise Forbidden("this needs the researcher role")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    principal = require_staff(principal)
    if principal.role != "admin":
        raise Forbidden("this needs the admin role")
    return principal


def require_participant(principal: Principal | None, *, consented: bool = True) -> Principal:
    if principal is None:
        raise LoginRequired("join the study through your invite link first")
    if principal.role != "participant":
        raise Forbidden("this is for the study's participants")
    if consented and not principal.consented:
        raise ConsentRequired()
    return principal


_INVITE_PATH = re.compile(r"(/join/)[^/?\s]+")


class RedactInviteTokens(logging.Filter):
    """Keeps invite tokens (a single-use one lets its holder join) out of the access log:
    ``/join/<token>`` and ``/api/join/<token>`` are logged as ``/join/…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _INVITE_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _INVITE_PATH.sub(r"\1…", record.msg)
        return True


def redact_invites_in_access_log() -> None:
    """Install :class:`RedactInviteTokens` on the access logger (once)."""
    from codearena.asgi.access_log import ACCESS_LOGGER

    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactInviteTokens) for f in access.filters):
        access.addFilter(RedactInviteTokens())
