"""``codearena history`` and ``codearena db upgrade``: what is stored, and the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from codearena.cli.output import out, print_json, shown

db_app = typer.Typer(no_args_is_help=True)  # its help: codearena.cli.COMMANDS


def history(
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stored tasks with their generations, newest first."""
    from rich.table import Table

    from codearena.config import load_settings
    from codearena.pipeline import Context
    from codearena.store import repo

    context = Context.open(load_settings())
    tasks = repo.list_tasks(context.store, limit)
    if as_json:
        print_json([repo.task_dict(t) for t in tasks])
        return
    table = Table("task", "created", "prompt", "generations")
    for t in tasks:
        gens = ", ".join(f"{g.model}: {g.status}" for g in t.generations)
        prompt = t.prompt if len(t.prompt) < 60 else t.prompt[:57] + "..."
        created = t.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(shown(t.id[:12]), created, shown(prompt), shown(gens))
    out().print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema."""
    from codearena.config import load_settings, mask_url
    from codearena.store.db import make_engine, upgrade

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    out().print(shown(f"database at {mask_url(settings.database_url)} is up to date"))
