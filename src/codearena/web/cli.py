"""``codearena users`` and ``codearena study``: Typer sub-apps mounted by ``codearena.cli``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from codearena.config import load_settings
from codearena.terminal import escape_json, printable

if TYPE_CHECKING:  # the pipeline and the store (SQLAlchemy) load when a command runs
    from codearena.pipeline import Context

users_app = typer.Typer(help="Accounts of the web platform.", no_args_is_help=True)
study_app = typer.Typer(help="Studies of the web platform.", no_args_is_help=True)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
BASE_URL_HELP = (
    "the platform's public address, for the invite URL "
    "(default: [web] public_url or CODEARENA_PUBLIC_URL, else http://127.0.0.1:8000)"
)


@users_app.callback()
def users() -> None:
    """Accounts of the web platform (participants join through invites instead)."""


@study_app.callback()
def study() -> None:
    """Studies of the web platform."""


def _say(line: str, err: bool = False) -> None:
    """One line for people; study names and e-mail addresses may hold anything, so control
    characters are shown escaped (``codearena.terminal``)."""
    typer.echo(printable(line), err=err)


def _fail(message: str) -> None:
    _say(f"error: {message}", err=True)
    raise typer.Exit(2)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="the account's e-mail address")],
    role: Annotated[str, typer.Option("--role", help="admin or researcher")] = "researcher",
) -> None:
    """Create an account; the password is read from stdin (one line)."""
    from codearena.pipeline import Context
    from codearena.web import auth  # the web stack loads only when needed

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    context = Context.open(load_settings())
    try:
        user = auth.create_user(context.store, email, role, password)
    except ValueError as exc:
        _fail(str(exc))
        return
    _say(f"created {user.role} {user.email}")


@study_app.command("create")
def study_create(
    name: Annotated[str, typer.Option("--name", help="the study's name")],
    models: Annotated[str, typer.Option("--models", help="2 to 8 model ids, comma-separated")],
    mode: Annotated[str, typer.Option("--mode", help="named or blind")] = "named",
    survey: Annotated[
        str | None, typer.Option("--survey", help="study-2025 (default) or a TOML/YAML file")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", help="USD budget per participant")
    ] = None,
    max_tasks: Annotated[
        int | None, typer.Option("--max-tasks", help="task budget per participant")
    ] = None,
    spend_cap_usd: Annotated[
        float | None,
        typer.Option(
            "--spend-cap-usd", help="USD cap on the whole study's generations (every participant)"
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    consent: Annotated[
        str, typer.Option("--consent", help="consent text (default: built in)")
    ] = "",
    design: Annotated[
        str,
        typer.Option(
            "--design",
            help="open (participants write their tasks), crossover or between (the task file's "
            "tasks, models counterbalanced; see docs/designs.md)",
        ),
    ] = "open",
    tasks: Annotated[
        Path | None,
        typer.Option("--tasks", help="the task file of a controlled design (JSONL, suite format)"),
    ] = None,
    tasks_per_participant: Annotated[
        int | None,
        typer.Option("--tasks-per-participant", help="tasks each participant does (default all)"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="the design's seed (default: drawn and stored)")
    ] = None,
    pairing: Annotated[
        str,
        typer.Option("--pairing", help="blind open studies: uniform (default) or adaptive"),
    ] = "uniform",
    base_url: Annotated[str | None, typer.Option("--base-url", help=BASE_URL_HELP)] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="the researcher's e-mail (default: the only researcher)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a study and print its invite URL."""
    from codearena.pipeline import Context  # the pipeline and the store load only when needed
    from codearena.studies.errors import StudyError
    from codearena.studies.invites import platform_secret
    from codearena.studies.study import StudySpec, create_study
    from codearena.studies.task_file import load_task_file
    from codearena.web.present import study_dict

    try:
        design_tasks = load_task_file(tasks) if tasks else []
    except StudyError as exc:
        _fail(str(exc))
        return
    context = Context.open(load_settings())
    owner_id = _owner_id(context, owner)
    spec = StudySpec(
        name=name,
        models=models.split(","),
        mode=mode,
        description=description,
        consent_text=consent,
        survey=survey,
        budget_tasks=max_tasks,
        budget_usd=budget_usd,
        spend_cap_usd=spend_cap_usd,
        pairing=pairing,
        design=design,
        design_tasks=design_tasks,
        tasks_per_participant=tasks_per_participant,
        seed=seed,
    )
    try:
        study = create_study(context.store, context.catalog, spec, owner_id, survey_files=True)
    except StudyError as exc:
        _fail(str(exc))
        return
    secret = platform_secret(context.store)
    data = study_dict(study, secret, _base_url(context, base_url))
    if as_json:
        typer.echo(escape_json(json.dumps(data, indent=2, ensure_ascii=False)))
        return
    described = f"{study.mode}, {len(study.models)} models"
    if study.design != "open":
        described += (
            f", {study.design} design over {len(design_tasks)} tasks, seed {study.design_seed}"
        )
    _say(f"study {study.id} ({described})")
    _say(f"invite: {data['invite_url']}")


def _base_url(context: Context, given: str | None) -> str:
    """``--base-url``, else the configured public URL, else the default address of ``serve``."""
    return given or context.settings.web.public_url or DEFAULT_BASE_URL


def _owner_id(context: Context, email: str | None) -> str | None:
    """The owning researcher: ``--owner``, else the only researcher account, else nobody (then
    only admins see the study until one is given)."""
    from sqlalchemy import select

    from codearena.store.platform_models import WebUser

    with context.store.session() as session:
        query = select(WebUser).where(WebUser.role.in_(("researcher", "admin")))
        accounts = list(session.scalars(query))
    if email is not None:
        match = [a for a in accounts if a.email.lower() == email.strip().lower()]
        if not match:
            _fail(
                f"no researcher or admin account {email!r}; create it with `codearena users create`"
            )
            raise typer.Exit(2)
        return match[0].id
    researchers = [a for a in accounts if a.role == "researcher"]
    if len(researchers) == 1:
        return researchers[0].id
    _say("note: the study has no owner, so only admins see it; pass --owner EMAIL", err=True)
    return None


@study_app.command("list")
def study_list(
    base_url: Annotated[str | None, typer.Option("--base-url", help=BASE_URL_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every study with its status and invite URL."""
    from codearena.pipeline import Context  # the pipeline and the store load only when needed
    from codearena.studies.invites import platform_secret
    from codearena.studies.study import list_studies
    from codearena.web.present import study_dict

    context = Context.open(load_settings())
    secret = platform_secret(context.store)
    base = _base_url(context, base_url)
    rows = [study_dict(s, secret, base) for s in list_studies(context.store)]
    if as_json:
        typer.echo(escape_json(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    for row in rows:
        _say(f"{row['id']}  {row['status']:6}  {row['mode']:5}  {row['name']}")
        _say(f"    {row['invite_url']}")


@study_app.command("invite")
def study_invite(
    study_id: Annotated[str, typer.Option("--study", help="the study's id")],
    single_use: Annotated[
        int | None,
        typer.Option(
            "--single-use",
            help="print N new single-use links, each for one participant (1 to 1000)",
        ),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help=BASE_URL_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the study's invite link, or N new single-use links (--single-use N).

    A single-use link lets one participant join (the same browser may open it again); only a
    hash of each is stored, so this is the one time they are shown."""
    from codearena.pipeline import Context  # the pipeline and the store load only when needed
    from codearena.studies.errors import StudyError
    from codearena.studies.invites import (
        create_single_use,
        invite_url,
        platform_secret,
        single_use_url,
    )
    from codearena.studies.study import get_study

    context = Context.open(load_settings())
    base = _base_url(context, base_url)
    try:
        study = get_study(context.store, study_id)
        if single_use is None:
            urls = [invite_url(platform_secret(context.store), study.id, base)]
        else:
            tokens = create_single_use(context.store, study.id, single_use)
            urls = [single_use_url(t, base) for t in tokens]
    except StudyError as exc:
        _fail(str(exc))
        return
    if as_json:
        data = {"study_id": study.id, "single_use": single_use is not None, "invite_urls": urls}
        typer.echo(escape_json(json.dumps(data, indent=2, ensure_ascii=False)))
        return
    for url in urls:
        typer.echo(url)
