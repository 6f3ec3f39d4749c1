"""``codearena serve``: the web platform."""

from __future__ import annotations

from typing import Annotated

import typer

from codearena.cli.output import err, shown

YOUNG_COLLECTION_THRESHOLD = 50_000
"""Tracked objects allocated (net) before the collector's young generation is collected: Python's
default, 700, collects the youngest generation every few milliseconds at 500 calls/s, so that
a call's objects (alive for its upstream's latency) are promoted and traversed again and again
by the older generations' collections."""


KEEP_ALIVE_S = 75
"""Seconds an idle client connection is kept open (uvicorn's default is 5). Longer than the
idle expiry of the usual clients (httpx, so the openai SDK, 5 s; aiohttp 15 s; Node's undici
4 s), so that a client does not send its next request on a connection the server is closing
at that moment, which the client sees as a reset connection (nginx keeps 75 s too)."""


def tune_garbage_collector() -> None:
    """Move what start-up made into the collector's permanent generation and collect the young
    generation less often. Reference counting frees almost everything a call makes; the cycle
    collector is for the rest, and at the default thresholds it took a third of the server's CPU
    at 500 calls/s, in pauses of up to 0.9 s (BENCHMARKS.md)."""
    import gc

    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, max(older, 20), oldest)


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="the address participants use, for invite links "
            "(default: [web] public_url or CODEARENA_PUBLIC_URL, else the request's address)",
        ),
    ] = None,
) -> None:
    """Start the web platform."""
    import dataclasses

    import uvicorn

    from codearena import __version__
    from codearena.asgi.access_log import logging_config
    from codearena.asgi.http_protocol import OneWriteProtocol
    from codearena.config import load_settings, mask_url, public_url_of
    from codearena.pipeline import Context
    from codearena.web.app import create_app
    from codearena.web.auth import redact_invites_in_access_log

    settings = load_settings()
    if public_url is not None:
        web = dataclasses.replace(
            settings.web, public_url=public_url_of(public_url, "--public-url")
        )
        settings = dataclasses.replace(settings, web=web)
    context = Context.open(settings)
    if not any(p.has_key for p in context.settings.providers.values() if p.needs_key):
        err().print(
            "No API key configured yet: the platform starts anyway. To add one, stop it and run\n"
            "  export OPENROUTER_API_KEY=sk-or-...   (or OPENAI_API_KEY, or start Ollama locally)\n"
            "then start it again. `codearena info` shows what is configured."
        )
    database = mask_url(context.settings.database_url)
    err().print(shown(f"codearena {__version__} on http://{host}:{port}  (database {database})"))
    if context.settings.web.public_url:
        err().print(shown(f"invite links use {context.settings.web.public_url}"))
    redact_invites_in_access_log()  # invite tokens (single-use ones) stay out of the log
    # uvloop and httptools (C) rather than asyncio's loop and h11: at 500 calls/s to the
    # endpoint, 414-500 completed per second instead of 295-319 (BENCHMARKS.md); httptools'
    # protocol with a response's head and body in one write (asgi/http_protocol.py)
    app = create_app(context)
    tune_garbage_collector()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        loop="uvloop",
        http=OneWriteProtocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        log_config=logging_config(),  # the access log: the app's, once a request is done
    )
