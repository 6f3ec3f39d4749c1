"""Security headers on every response (a strict CSP without inline scripts) as ASGI middleware."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PREVIEW_PATH = "/preview/"
"""Where answers' previews are served (``web/preview.py``): the one place a page may frame."""


def task_page_csp(origin: str) -> str:
    """The task page's policy: :data:`CSP` with frames allowed from the previews' path only
    (``frame-src`` is checked on every navigation of the frame, so a preview that navigates
    itself cannot load the API or any other page into it), and ``data:`` images: the images a
    run wrote are shown as ``<img src="data:...">`` (an SVG in an image runs no script and
    loads nothing). ``origin``: the page's own."""
    policy = CSP.replace("img-src 'self';", "img-src 'self' data:;")
    return f"{policy}; frame-src {origin.rstrip('/')}{PREVIEW_PATH}"


_DOCS_PATHS = ("/docs", "/redoc")
# Swagger UI and ReDoc (web/apidocs.py) load only local scripts, but set inline styles, use data:
# images and ReDoc runs a blob: worker; they show no user content.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


RAW_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
""":data:`SECURITY_HEADERS` as ASGI headers, for a response built without this middleware
(``openai_api.router``'s answers)."""
_DOCS_RAW_HEADERS = [
    (name, _DOCS_CSP.encode() if name == b"content-security-policy" else value)
    for name, value in RAW_HEADERS
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(_DOCS_PATHS)
        wanted = _DOCS_RAW_HEADERS if docs else RAW_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
