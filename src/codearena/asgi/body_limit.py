"""The largest request body the server reads (``[web] max_request_mb``, 32 MB by default).

Nothing else bounds a body: uvicorn reads what a client sends, and a handler that reads the
body (a form, a JSON request, a chat completion's messages) would hold all of it in memory.
:class:`BodyLimit` wraps every HTTP request's ``receive``: a request whose ``Content-Length``
is over the limit fails before any of its body is read, and one without it (chunked) as soon
as what has arrived passes it. The failure is :class:`RequestTooLarge`, an ``HTTPException``
raised where the handler reads the body, so each door answers it in its own form: the pages
and the JSON API through the app's error handlers (``web/errors.py``), ``/v1`` in OpenAI's
error format (``openai_api.router.DirectRoutes``, which reads its requests' bodies with
:func:`read_body`, the same rule without the middleware), both with status 413. A request
that never reads its body is not affected.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestTooLarge(HTTPException):
    def __init__(self, megabytes: float) -> None:
        super().__init__(
            413,
            f"the request body is larger than this server's limit of {megabytes:g} MB "
            "(send less, or raise [web] max_request_mb in the server's configuration)",
        )


class BodyLimit:
    """ASGI middleware: request bodies of at most ``megabytes`` MB (MiB: 1,048,576 bytes)."""

    def __init__(self, app: ASGIApp, megabytes: float) -> None:
        self.app = app
        self.megabytes = megabytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counter = _Counter(scope, self.megabytes)

        async def limited() -> Message:
            return await counter.receive(receive)

        await self.app(scope, limited, send)


async def read_body(scope: Scope, receive: Receive, megabytes: float) -> bytes:
    """The whole body of an HTTP request of at most ``megabytes`` MB (``RequestTooLarge``
    otherwise; starlette's ``ClientDisconnect`` if the client went away first), for a handler
    that reads ``receive`` itself, without :class:`BodyLimit` around it."""
    counter = _Counter(scope, megabytes)
    pieces: list[bytes] = []
    while True:
        message = await counter.receive(receive)
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        pieces.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(pieces)


class _Counter:
    """One request's body against the limit: its declared length, then what has arrived."""

    def __init__(self, scope: Scope, megabytes: float) -> None:
        self.megabytes = megabytes
        self.limit = int(megabytes * 1024 * 1024)
        self.declared = _content_length(scope)
        self.received = 0

    async def receive(self, receive: Receive) -> Message:
        """The next message of ``receive``, or ``RequestTooLarge``."""
        if self.declared is not None and self.declared > self.limit:
            raise RequestTooLarge(self.megabytes)
        message = await receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise RequestTooLarge(self.megabytes)
        return message


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
