"""``codearena serve``: the web platform."""

from __future__ import annotations

from typing import Annotated

import typer

from codearena.cli.output import err, shown


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Start the web platform."""
    import uvicorn

    from codearena import __version__
    from codearena.config import load_settings, mask_url
    from codearena.pipeline import Context
    from codearena.web.app import create_app

    context = Context.open(load_settings())
    if not any(p.has_key for p in context.settings.providers.values() if p.needs_key):
        err().print(
            "No API key configured yet: the platform starts anyway. To add one, stop it and run\n"
            "  export OPENROUTER_API_KEY=sk-or-...   (or OPENAI_API_KEY, or start Ollama locally)\n"
            "then start it again. `codearena info` shows what is configured."
        )
    database = mask_url(context.settings.database_url)
    err().print(shown(f"codearena {__version__} on http://{host}:{port}  (database {database})"))
    uvicorn.run(create_app(context), host=host, port=port, log_level="info")
