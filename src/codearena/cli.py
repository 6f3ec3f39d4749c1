"""The ``codearena`` command: each command is a thin call into the modules below it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from codearena import __version__
from codearena.analysis.cli import leaderboard_command, votes_app
from codearena.bench_cli import BenchFailure, run_bench
from codearena.catalog import ModelInfo, discover_ollama, fetch_openrouter_models
from codearena.coding.cli import coding_app
from codearena.config import ConfigError, ProviderConfig, Settings, load_settings, mask_url
from codearena.evaluation import open_sandbox
from codearena.exports.cli import export_command, import_command
from codearena.generate_cli import run_generate
from codearena.pipeline import Context, InputError
from codearena.prompting import REQUIREMENTS, TONES
from codearena.reports.cli import report_command
from codearena.sandbox import Sandbox, SandboxError
from codearena.sandbox.cli import app as sandbox_app
from codearena.store import StoreError, repo
from codearena.store.db import make_engine, upgrade
from codearena.survey.cli import survey_app
from codearena.terminal import escape_json, printable
from codearena.web.cli import study_app, users_app

app = typer.Typer(
    name="codearena",
    help="Send one coding task to many LLMs, compare, execute and measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="List known models, or sync OpenRouter's listing.", invoke_without_command=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox", help="Run programs in the isolated sandbox.")
app.add_typer(users_app, name="users", help="Accounts for researchers and admins.")
app.add_typer(study_app, name="study", help="Create and list studies.")
app.add_typer(survey_app, name="survey", help="Import form exports and summarise a study's survey.")
app.command("export")(export_command)
app.command("leaderboard")(leaderboard_command)
app.command("report")(report_command)
app.add_typer(votes_app, name="votes", help="Votes collected elsewhere.")
app.add_typer(coding_app, name="coding", help="Open coding of free-text answers.")
app.command("import")(import_command)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Send one coding task to many LLMs, compare, execute and measure."""
    ctx.obj = _Services()


class _Services:
    """What sub-commands from self-contained packages get from the application (``ctx.obj``)."""

    @staticmethod
    def sandbox_factory(backend: str | None) -> Sandbox:
        return open_sandbox(load_settings().sandbox, backend)


class UsageFailure(Exception):
    """Bad input: printed as one message, exit status 2."""


def _context() -> Context:
    return Context.open(load_settings())


def _print_json(value: Any) -> None:
    dumped = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(escape_json(dumped) + "\n")


def _shown(value: object) -> Text:
    """Text from outside (a store, a model listing) for Rich: control characters escaped
    (``codearena.terminal``), never read as markup or emoji codes."""
    return Text(printable(str(value)))


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Version, config file, database URL (password masked) and configured providers."""
    settings = load_settings()
    reachable, _ = asyncio.run(_reachability(settings))

    def status(p: ProviderConfig) -> str:
        if not p.has_key:
            return f"missing key: set {p.key_env}"
        return "unreachable" if reachable.get(p.name) is False else "ready"

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
        _print_json(data)
        return
    out.print(f"codearena {__version__}")
    out.print(
        _shown(f"config file:  {data['config_file'] or '(none; using defaults and environment)'}")
    )
    out.print(_shown(f"database:     {data['database_url']}"))
    table = Table("provider", "base URL", "status")
    for p in providers:
        table.add_row(_shown(p["name"]), _shown(p["base_url"]), _shown(p["status"]))
    out.print(table)


async def _reachability(settings: Settings) -> tuple[dict[str, bool], list[ModelInfo]]:
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
    context = _context()
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
        _print_json(rows)
        return
    table = Table("id", "label", "provider", "status", "context", "$/M in", "$/M out")
    for r in rows:
        table.add_row(
            _shown(r["id"]),
            _shown(r["label"]),
            _shown(r["provider"]),
            _shown(r["status"]),
            _fmt(r["context_length"]),
            _fmt(r["price_input_per_m"]),
            _fmt(r["price_output_per_m"]),
        )
    out.print(table)
    if not reachable["ollama"]:
        ollama = context.settings.providers["ollama"].base_url.removesuffix("/v1")
        out.print(_shown(f"Ollama: no server at {ollama} (set OLLAMA_HOST)"))


def _fmt(value: object) -> str:
    return "-" if value is None else str(value)


@models_app.command("sync")
def models_sync(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Read OpenRouter's /models listing and store prices and context lengths."""
    context = _context()
    provider = context.settings.providers["openrouter"]

    async def fetch() -> list[ModelInfo]:
        async with httpx.AsyncClient(headers=dict(provider.headers)) as client:
            return await fetch_openrouter_models(provider, client)

    try:
        listing = asyncio.run(fetch())
    except httpx.HTTPError as exc:
        raise UsageFailure(
            f"cannot read {provider.base_url}/models ({exc}); check the network or OPENROUTER_BASE_URL"
        ) from exc
    count = repo.save_catalog(context.store, listing)
    if as_json:
        _print_json({"synced": count, "source": f"{provider.base_url}/models"})
    else:
        out.print(_shown(f"synced {count} models from {provider.base_url}/models"))


@app.command()
def generate(
    task: Annotated[str, typer.Argument(help="The coding task, in natural language.")],
    model: Annotated[
        list[str], typer.Option("-m", "--model", help="Model id; repeat for several.")
    ],
    requirement: Annotated[
        str, typer.Option("--requirement", help=f"One of: {'; '.join(REQUIREMENTS)}")
    ] = "Generate code",
    tone: Annotated[
        str, typer.Option("--tone", help=f"One of: {', '.join(TONES)}")
    ] = "Professional",
    language: Annotated[
        str | None, typer.Option("--language", help="Output programming language.")
    ] = None,
    plain: Annotated[
        bool, typer.Option("--plain", help="Send the task as written, no study prompt.")
    ] = False,
    temperature: Annotated[float, typer.Option("--temperature")] = 0.5,
    fallback: Annotated[
        list[str] | None, typer.Option("--fallback", help="Fallback model, tried in order.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Python test code to run every answer against.")
    ] = None,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples", help='JSON list of {"stdin", "stdout"} examples for every answer.'
        ),
    ] = None,
    run_code: Annotated[
        bool, typer.Option("--run", help="Run every answer in the sandbox (implied by tests).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send one task to every model at once, stream the answers and store everything."""
    run_generate(
        task,
        model,
        requirement,
        tone,
        language,
        plain,
        temperature,
        fallback or [],
        tests,
        examples,
        run_code,
        as_json,
    )


@app.command()
def history(
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stored tasks with their generations, newest first."""
    context = _context()
    tasks = repo.list_tasks(context.store, limit)
    if as_json:
        _print_json([repo.task_dict(t) for t in tasks])
        return
    table = Table("task", "created", "prompt", "generations")
    for t in tasks:
        gens = ", ".join(f"{g.model}: {g.status}" for g in t.generations)
        prompt = t.prompt if len(t.prompt) < 60 else t.prompt[:57] + "..."
        created = t.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(_shown(t.id[:12]), created, _shown(prompt), _shown(gens))
    out.print(table)


@app.command()
def bench(
    suite: Annotated[
        str | None, typer.Argument(help="'humaneval' or the path of a JSONL suite.")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("-m", "--model", help="Model id, or 'reference'.")
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=1, help="Samples per problem (pass@k for k <= N).")
    ] = 1,
    temperature: Annotated[float, typer.Option("--temperature")] = 0.2,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Items in flight at once.")
    ] = 8,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first K problems.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run.")
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Sandbox backend (default: config, else bwrap).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a benchmark suite through the gateway and the sandbox; report pass@k per model."""
    run_bench(
        suite, model or [], samples, temperature, concurrency, limit, resume, backend, as_json
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    out.print(_shown(f"database at {mask_url(settings.database_url)} is up to date"))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Start the web platform."""
    import uvicorn

    from codearena.web.app import create_app

    context = _context()
    if not any(p.has_key for p in context.settings.providers.values() if p.needs_key):
        err.print(
            "No API key configured yet: the platform starts anyway. To add one, stop it and run\n"
            "  export OPENROUTER_API_KEY=sk-or-...   (or OPENAI_API_KEY, or start Ollama locally)\n"
            "then start it again. `codearena info` shows what is configured."
        )
    database = mask_url(context.settings.database_url)
    err.print(_shown(f"codearena {__version__} on http://{host}:{port}  (database {database})"))
    uvicorn.run(create_app(context), host=host, port=port, log_level="info")


def main() -> None:
    try:
        app()
    except (UsageFailure, InputError, ConfigError, StoreError, BenchFailure, SandboxError) as exc:
        err.print(_shown(f"error: {exc}"))
        sys.exit(2)
