"""``codearena tokens``: API tokens of the OpenAI-compatible endpoint (mounted by
``codearena.cli``). A token is printed once, when it is created; only its hash is stored."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from codearena.terminal import escape_json, printable

tokens_app = typer.Typer(no_args_is_help=True)  # its help: codearena.cli.COMMANDS


@tokens_app.callback()
def tokens() -> None:
    """API tokens of the OpenAI-compatible endpoint (/v1)."""


def _say(line: str) -> None:
    typer.echo(printable(line))


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="the web account's e-mail address")],
    study: Annotated[
        str | None, typer.Option("--study", help="the study the token's calls belong to")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", help="refuse calls (402) once this is spent")
    ] = None,
    rpm: Annotated[
        int | None, typer.Option("--rpm", help="requests per minute (429 above)")
    ] = None,
    expires: Annotated[
        float | None, typer.Option("--expires", help="days until the token expires")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a token for an existing web account; it is printed once, never stored."""
    from codearena.config import load_settings
    from codearena.openai_api.tokens import create_token
    from codearena.store import Store

    store = Store(load_settings().database_url)
    token, row = create_token(
        store, user, study=study, budget_usd=budget_usd, rpm=rpm, expires_days=expires
    )
    if as_json:
        typer.echo(json.dumps({"token": token, "id": row.id}))
        return
    _say(f"token: {token}")
    _say(f"id:    {row.id}")
    _say("The token is shown only now: store it (requests send 'Authorization: Bearer <token>').")


@tokens_app.command("list")
def tokens_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every token's id, account, study, budget, spending, rate and state (never the token)."""
    from codearena.config import load_settings
    from codearena.openai_api.tokens import list_tokens
    from codearena.store import Store

    rows = list_tokens(Store(load_settings().database_url))
    if as_json:
        typer.echo(escape_json(json.dumps(rows, ensure_ascii=False)))
        return
    if not rows:
        _say("no API tokens (codearena tokens create --user EMAIL)")
    for row in rows:
        budget = "no budget" if row["budget_usd"] is None else f"${row['budget_usd']:g} budget"
        rate = "no rate limit" if row["rpm"] is None else f"{row['rpm']}/min"
        study = f", study {row['study']}" if row["study_id"] else ""
        _say(
            f"{row['id']}  {row['prefix']}  {row['user']}{study}  {row['state']}  "
            f"${row['spent_usd']:g} spent, {budget}, {rate}, expires {row['expires_at'] or 'never'}"
        )


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="the token's id")]) -> None:
    """Revoke a token: its requests get 401 from now on."""
    from codearena.config import load_settings
    from codearena.openai_api.tokens import revoke_token
    from codearena.store import Store

    row = revoke_token(Store(load_settings().database_url), token_id)
    _say(f"revoked {row.id}")
