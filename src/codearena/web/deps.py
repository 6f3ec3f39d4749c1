"""FastAPI dependencies shared by the API and the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from codearena.web import csrf
from codearena.web.auth import (
    Principal,
    load_principal,
    require_admin,
    require_participant,
    require_staff,
)
from codearena.web.state import Platform, platform_of

PlatformDep = Annotated[Platform, Depends(platform_of)]


def current(request: Request) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        cached = load_principal(platform_of(request).context.store, request)
        request.state.principal = cached
    return cached


async def check_csrf(request: Request) -> None:
    await csrf.verify(platform_of(request).secret, request)


def staff(request: Request) -> Principal:
    return require_staff(current(request))


def admin(request: Request) -> Principal:
    return require_admin(current(request))


def participant(request: Request) -> Principal:
    return require_participant(current(request))


def joined(request: Request) -> Principal:
    """A participant who may not have accepted the consent text yet."""
    return require_participant(current(request), consented=False)


MaybePrincipal = Annotated[Principal | None, Depends(current)]
Staff = Annotated[Principal, Depends(staff)]
Admin = Annotated[Principal, Depends(admin)]
Participant = Annotated[Principal, Depends(participant)]
Joined = Annotated[Principal, Depends(joined)]
