"""CSRF protection: a random nonce in a SameSite=Strict HttpOnly cookie, and a token that is
the nonce's HMAC under the platform secret, sent back in ``X-CSRF-Token`` or a form field.

A site that can plant cookies cannot forge a matching token without the secret; a page of
another origin can neither read the token nor send the Strict cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from codearena.web.errors import ApiError

CSRF_COOKIE = "codearena_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def issue_token(secret: str, request: Request, response: Response) -> str:
    """The token for this browser; sets the cookie when it has none yet."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = getattr(request.state, "csrf_nonce", None) or secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return _sign(secret, nonce)


async def verify(secret: str, request: Request) -> None:
    """Refuse a state-changing request without a valid token (header or form field)."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise ApiError(403, "CSRF check failed: the request comes from another origin")
    nonce = request.cookies.get(CSRF_COOKIE)
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not nonce or not token or not hmac.compare_digest(_sign(secret, nonce), token):
        raise ApiError(
            403,
            "CSRF check failed: reload the page (API clients: GET /api/session and send its "
            "csrf_token in the X-CSRF-Token header)",
        )
