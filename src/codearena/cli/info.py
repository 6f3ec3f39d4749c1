"""``codearena info`` and ``codearena models [sync]``: what is configured, and which models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from codearena.cli.output import fmt, out, print_json, shown
from codearena.errors import CodearenaError

if TYPE_CHECKING:
    from codearena.catalog import ModelInfo
    from codearena.config import ProviderConfig, Settings

models_app = typer.Typer(invoke_without_command=True)  # its help: codearena.cli.COMMANDS


def info(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Version, config file, database URL (password masked) and configured providers."""
    import asyncio

    from rich.table import Table

    from codearena import __version__
    from codearena.config import load_settings, mask_url

    settings = load_settings()
    reachable, _ = asyncio.run(_reachability(settings))

    from codearena.catalog import provider_status

    def status(p: ProviderConfig) -> str:
        return provider_status(p, reachable)

    providers = [
        {
            "name": p.name,
            "base_url": p.base_url,
            "key_env": p.key_env,
            "configured": p.has_key,
            "status": status(p),
        }
        for p in settings.providers.values()
    ]
    data = {
        "version": __version__,
        "config_file": str(settings.config_path) if settings.config_path else None,
        "database_url": mask_url(settings.database_url),
        "home": str(settings.home),
        "providers": providers,
    }
    if as_json:
        print_json(data)
        return
    out().print(f"codearena {__version__}")
    out().print(
        shown(f"config file:  {data['config_file'] or '(none; using defaults and environment)'}")
    )
    out().print(shown(f"database:     {data['database_url']}"))
    table = Table("provider")
    table.add_column("base URL", overflow="fold")  # Gemini's is long; the status stays whole
    table.add_column("status", no_wrap=True)
    for p in providers:
        table.add_row(shown(p["name"]), shown(p["base_url"]), shown(p["status"]))
    out().print(table)


async def _reachability(settings: Settings) -> tuple[dict[str, bool], list[ModelInfo]]:
    import httpx

    from codearena.catalog import discover_ollama

    reachable: dict[str, bool] = {}
    local: list[ModelInfo] = []
    async with httpx.AsyncClient() as client:
        found = await discover_ollama(settings.providers["ollama"], client, timeout=0.5)
    reachable["ollama"] = found is not None
    local.extend(found or [])
    return reachable, local


@models_app.callback()
def models(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Every known model with id, label, provider, status, context length and prices."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from rich.table import Table

    from codearena.config import load_settings
    from codearena.pipeline import Context

    context = Context.open(load_settings())
    reachable, local = asyncio.run(_reachability(context.settings))
    context.catalog.add(local)
    rows = [
        {
            "id": m.id,
            "label": m.label,
            "provider": m.provider,
            "status": context.catalog.status(m, reachable),
            "context_length": m.context_length,
            "price_input_per_m": m.price_input_per_m,
            "price_output_per_m": m.price_output_per_m,
            "presets": list(m.presets),
            "source": m.source,
        }
        for m in context.catalog.all()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "label", "provider", "status", "context", "$/M in", "$/M out")
    for r in rows:
        table.add_row(
            shown(r["id"]),
            shown(r["label"]),
            shown(r["provider"]),
            shown(r["status"]),
            fmt(r["context_length"]),
            fmt(r["price_input_per_m"]),
            fmt(r["price_output_per_m"]),
        )
    out().print(table)
    if not reachable["ollama"]:
        ollama = context.settings.providers["ollama"].base_url.removesuffix("/v1")
        out().print(shown(f"Ollama: no server at {ollama} (set OLLAMA_HOST)"))


@models_app.command("sync")
def models_sync(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Read OpenRouter's /models listing and store prices and context lengths."""
    import asyncio

    import httpx

    from codearena.catalog import fetch_openrouter_models
    from codearena.config import load_settings
    from codearena.pipeline import Context
    from codearena.store import repo

    context = Context.open(load_settings())
    provider = context.settings.providers["openrouter"]

    async def fetch() -> list[ModelInfo]:
        async with httpx.AsyncClient(headers=dict(provider.headers)) as client:
            return await fetch_openrouter_models(provider, client)

    try:
        listing = asyncio.run(fetch())
    except httpx.HTTPError as exc:
        raise CodearenaError(
            f"cannot read {provider.base_url}/models ({exc}); check the network or OPENROUTER_BASE_URL"
        ) from exc
    count = repo.save_catalog(context.store, listing)
    if as_json:
        print_json({"synced": count, "source": f"{provider.base_url}/models"})
    else:
        out().print(shown(f"synced {count} models from {provider.base_url}/models"))
