"""The access log, written once a request has been answered.

uvicorn writes its access log line when a response starts, before its first byte goes out: on
the path of every answer (0.3 ms of a proxied call at one stream, BENCHMARKS.md). This
middleware writes the same line, with the same arguments and uvicorn's formatter (the same text
on standard output), to the logger ``codearena.access``, once the request is done: its response
sent, and what the response runs after it (the endpoint's record of a call).
:func:`logging_config` is uvicorn's logging configuration with that logger in the place of
``uvicorn.access``, which then has no handler (and uvicorn writes no line of its own);
``codearena serve`` runs with it. Invite tokens are kept out of the line by
:class:`codearena.web.auth.RedactInviteTokens`, a filter of this logger.

A request whose handler failed before it answered is logged with the 500 that the app's error
handler sends.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

if TYPE_CHECKING:
    from uvicorn._types import HTTPScope

ACCESS_LOGGER = "codearena.access"
_log = logging.getLogger(ACCESS_LOGGER)


def logging_config() -> dict[str, Any]:
    """uvicorn's logging configuration, its access log written by :class:`AccessLog`."""
    config = copy.deepcopy(LOGGING_CONFIG)
    loggers = config["loggers"]
    loggers[ACCESS_LOGGER] = loggers.pop("uvicorn.access")
    loggers["uvicorn.access"] = {"handlers": [], "propagate": False}
    return config


class AccessLog:
    """ASGI middleware: one access log line per HTTP request, after it is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log_request(scope, status)


def log_request(scope: Scope, status: int) -> None:
    """The access log line of one HTTP request that is done (uvicorn's text)."""
    if not _log.isEnabledFor(logging.INFO):
        return
    http = cast("HTTPScope", scope)
    _log.info(
        '%s - "%s %s HTTP/%s" %d',
        get_client_addr(http),
        scope["method"],
        get_path_with_query_string(http),
        scope["http_version"],
        status,
    )
