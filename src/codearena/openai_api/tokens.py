"""API tokens: created for an existing web account, shown once, stored as their SHA-256.

A request's token is checked against its row, which :class:`TokenCache` reads with one query
and keeps for :data:`AUTH_CACHE_S` seconds; its requests per minute are counted in this process
(:class:`RateLimiter`); what its calls cost is added to ``spent_usd`` when each call is stored,
and a token whose budget is spent is refused with 402.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from codearena.errors import CodearenaError
from codearena.openai_api.errors import ApiError
from codearena.store import Store
from codearena.store.api_models import ApiToken
from codearena.store.platform_models import Study, WebUser
from codearena.store.repo import find_study_in

TOKEN_PREFIX = "ca-"
SHOWN_PREFIX = 7  # characters of a token that `tokens list` shows ("ca-" and four more)


class TokenError(CodearenaError):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the token's id, account, study and limits."""

    token_id: str
    user_id: str
    study_id: str | None
    rpm: int | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    store: Store,
    email: str,
    *,
    study: str | None = None,
    budget_usd: float | None = None,
    rpm: int | None = None,
    expires_days: float | None = None,
) -> tuple[str, ApiToken]:
    """A new token for the account ``email``: ``(token, row)``; the token is not stored."""
    if budget_usd is not None and budget_usd < 0:
        raise TokenError("--budget-usd must be 0 or more")
    if rpm is not None and rpm < 1:
        raise TokenError("--rpm must be at least 1")
    if expires_days is not None and expires_days <= 0:
        raise TokenError("--expires must be a positive number of days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as session:
        user = session.scalars(
            select(WebUser).where(WebUser.email == email.strip().lower())
        ).first()
        if user is None:
            raise TokenError(
                f"no web account with email {email!r}: create it first with "
                "`codearena users create --email ...`"
            )
        study_id = find_study_in(session, study).id if study else None
        now = datetime.now(UTC)
        row = ApiToken(
            token_hash=digest(token),
            prefix=token[:SHOWN_PREFIX],
            user_id=user.id,
            study_id=study_id,
            budget_usd=budget_usd,
            spent_usd=0.0,
            rpm=rpm,
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
        session.add(row)
    return token, row


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``revoked``, ``expired`` or ``spent`` (its budget used up)."""
    now = now or datetime.now(UTC)
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return "expired"
    if row.budget_usd is not None and row.spent_usd >= row.budget_usd:
        return "spent"
    return "active"


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token as a plain record (never the token: its first characters only)."""
    with store.session() as session:
        rows = session.execute(
            select(ApiToken, WebUser.email, Study.name)
            .join(WebUser, WebUser.id == ApiToken.user_id)
            .outerjoin(Study, Study.id == ApiToken.study_id)
            .order_by(ApiToken.created_at)
        ).all()
        now = datetime.now(UTC)
        return [
            {
                "id": row.id,
                "prefix": row.prefix + "...",
                "user": email,
                "study_id": row.study_id,
                "study": study_name,
                "budget_usd": row.budget_usd,
                "spent_usd": round(row.spent_usd, 10),
                "rpm": row.rpm,
                "created_at": _aware(row.created_at).isoformat(),
                "expires_at": _aware(row.expires_at).isoformat() if row.expires_at else None,
                "revoked_at": _aware(row.revoked_at).isoformat() if row.revoked_at else None,
                "state": token_state(row, now),
            }
            for row, email, study_name in rows
        ]


def revoke_token(store: Store, token_id: str) -> ApiToken:
    with store.session() as session:
        row = session.get(ApiToken, token_id.strip())
        if row is None:
            raise TokenError(f"no API token with id {token_id!r} (see `codearena tokens list`)")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
    for cache in _CACHES:
        cache.forget(row.id)
    return row


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header, or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(
            "missing API token: send the header 'Authorization: Bearer ca-...' "
            "(`codearena tokens create` makes one)"
        )
    return token.strip()


def check_study(store: Store, study_id: str) -> None:
    """A token of a study calls only while the study is open and under its spend cap (the
    token's calls count in the study's spend): 403 or 402 otherwise (blocking)."""
    from codearena.studies.study import get_study, spend_cap_reason

    study = get_study(store, study_id)
    if study.status != "open":
        raise ApiError(
            403,
            f"the study {study.name!r} of this API token is closed; ask its researcher",
            "permission_error",
            "study_closed",
        )
    if spend_cap_reason(store, study) is not None:
        raise ApiError(
            402,
            f"the study {study.name!r} of this API token has reached its spending limit "
            f"(${study.spend_cap_usd:g})",
            "insufficient_quota",
            "study_spend_cap",
        )


AUTH_CACHE_S = 5.0
"""How long :class:`TokenCache` keeps a token's row."""


@dataclass
class _Cached:
    row: ApiToken
    until: float


class TokenCache:
    """Who a token belongs to, or its 401 (unknown, expired, revoked) or 402 (budget spent),
    without a query for most requests: a token's row (id, account, study, limits, expiry,
    revocation, spending) is read at most once per :data:`AUTH_CACHE_S` seconds and judged again
    on every request, so

    - its expiry is honoured to the second (the time is compared on each request);
    - its budget is honoured at once for this process's calls (:meth:`spent` adds each call's
      cost to the cached row before its answer goes out; until the call's record has added it
      to ``spent_usd`` (:meth:`recorded`), a row read again gets it added too), and within
      :data:`AUTH_CACHE_S` seconds for what other processes spend;
    - a revocation (``codearena tokens revoke``, another process) is honoured within
      :data:`AUTH_CACHE_S` seconds; :func:`revoke_token` in this process, at once;
    - unknown tokens are not cached (a new token works at once), and a token of a study is
      checked against its study (open, under its spend cap) on every request, as the study's
      cap also counts its web tasks.

    A token in use is read again ahead of time: once its row is older than half its window,
    :meth:`due` says so and the endpoint reads it again (:meth:`refresh`, in a worker thread)
    while its call waits for the upstream, so that a token used every few seconds is never
    read in a request's own time. The row in the cache is never older than its window.
    """

    def __init__(self, store: Store, *, ttl: float = AUTH_CACHE_S, clock: Any = time.monotonic):
        self._store, self._ttl, self._clock = store, ttl, clock
        self._rows: dict[str, _Cached] = {}
        self._keys: dict[str, str] = {}  # token id -> the digest its row is cached under
        self._refreshing: set[str] = set()  # digests being read again
        self._unrecorded: dict[str, float] = {}  # token id -> USD spent, not yet in its row
        _CACHES.add(self)

    def lookup(self, token: str) -> tuple[Caller | None, str]:
        """``(caller, digest)``: the caller of a cached token (or its 401/402), or ``None`` when
        the token must be read (:meth:`load`, in a worker thread)."""
        key = digest(token)
        cached = self._rows.get(key)
        if cached is None or cached.until <= self._clock():
            return None, key
        return _judge(cached.row), key

    def load(self, key: str) -> Caller:
        """Read the token of ``key`` (blocking), cache its row, judge it."""
        with self._store.session() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == key)).first()
            if row is None:
                self._rows.pop(key, None)  # deleted since it was cached
                raise _unauthorized("invalid API token")
            session.expunge(row)
        row.spent_usd += self._unrecorded.get(row.id, 0.0)
        self._rows[key] = _Cached(row, self._clock() + self._ttl)
        self._keys[row.id] = key
        return _judge(row)

    def due(self, token_id: str) -> str | None:
        """The digest of ``token_id``'s row if it is cached, older than half its window and
        not being read again already (it is then marked as being read); else ``None``."""
        key = self._keys.get(token_id)
        cached = self._rows.get(key) if key is not None else None
        if key is None or cached is None or key in self._refreshing:
            return None
        if cached.until - self._ttl / 2 > self._clock():  # read less than half a window ago
            return None
        self._refreshing.add(key)
        return key

    def refresh(self, key: str) -> None:
        """Read the row of a token :meth:`due` named again (blocking); a token that has gone
        leaves the cache (its next request reads it, and gets its 401). If the database cannot
        be read, the row cached stays, within its window."""
        try:
            self.load(key)
        except ApiError:
            pass  # gone (no longer cached), or revoked, expired or spent (the row says so)
        finally:
            self._refreshing.discard(key)

    def spent(self, token_id: str, usd: float) -> None:
        """A call of ``token_id`` cost ``usd`` (its record is still to be written)."""
        self._unrecorded[token_id] = self._unrecorded.get(token_id, 0.0) + usd
        cached = self._rows.get(self._keys.get(token_id, ""))
        if cached is not None:
            cached.row.spent_usd += usd

    def recorded(self, token_id: str, usd: float) -> None:
        """The record of a call of ``token_id`` costing ``usd`` has added it to ``spent_usd``.
        (A record that could not be written stays counted: the money was spent.)"""
        left = self._unrecorded.get(token_id, 0.0) - usd
        if left > 1e-12:
            self._unrecorded[token_id] = left
        else:
            self._unrecorded.pop(token_id, None)

    def forget(self, token_id: str) -> None:
        self._rows.pop(self._keys.pop(token_id, ""), None)


_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def _judge(row: ApiToken) -> Caller:
    state = token_state(row)
    if state in ("revoked", "expired"):
        raise _unauthorized(f"this API token is {state}; ask for a new one")
    if state == "spent":
        raise ApiError(
            402,
            f"the budget of this API token (${row.budget_usd:g}) is spent",
            "insufficient_quota",
            "budget_exhausted",
        )
    return Caller(row.id, row.user_id, row.study_id, row.rpm)


class RateLimiter:
    """Requests per minute per token, counted in this process (a sliding minute)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def check(self, caller: Caller) -> None:
        """Count one request, or 429 with ``Retry-After`` when the token's minute is full."""
        if caller.rpm is None:
            return
        now = self._clock()
        seen = self._seen.setdefault(caller.token_id, deque())
        while seen and seen[0] <= now - 60.0:
            seen.popleft()
        if len(seen) >= caller.rpm:
            wait = max(1, math.ceil(seen[0] + 60.0 - now))
            raise ApiError(
                429,
                f"rate limit of this API token reached ({caller.rpm} requests per minute); "
                f"retry in {wait} s",
                "rate_limit_exceeded",
                "rate_limit_exceeded",
                {"Retry-After": str(wait)},
            )
        seen.append(now)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "invalid_request_error", "invalid_api_key")


def _aware(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
