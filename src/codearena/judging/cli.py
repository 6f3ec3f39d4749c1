"""``codearena judge --study S --judge MODEL [--with-execution] [--json]``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from codearena.cli.output import print_json


def judge_command(
    study: Annotated[str, typer.Option("--study", help="The study (id or unique name).")],
    judge: Annotated[str, typer.Option("--judge", help="The judge model (a catalog id).")],
    with_execution: Annotated[
        bool,
        typer.Option(
            "--with-execution",
            help="Also judge with each side's execution results (twice the calls).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """An LLM judges the study's battles in both orders; agreement with the human votes."""
    import asyncio

    from codearena.catalog import UnknownModel
    from codearena.config import load_settings
    from codearena.gateway import Gateway
    from codearena.judging.battles import load_battles
    from codearena.judging.run import judge_study, stored_verdicts, summarise
    from codearena.pipeline import Context, InputError
    from codearena.store.repo import find_study

    context = Context.open(load_settings())
    row = find_study(context.store, study)
    try:
        context.catalog.resolve(judge)
    except UnknownModel as exc:
        raise InputError(f"{exc}; `codearena models` lists the models the judge can be") from None
    found = load_battles(context.store, row.id)
    if not found.battles:
        raise InputError(
            f"study {row.name!r} has no battle with both answers stored: nothing to judge"
        )

    async def go() -> Any:
        async with Gateway(context.settings, context.catalog) as gateway:
            return await judge_study(
                context, gateway, row.id, judge, found.battles, with_execution=with_execution
            )

    calls = asyncio.run(go())
    verdicts = stored_verdicts(context, row.id, judge)
    report = summarise(found, verdicts, with_execution=with_execution, seed=seed)
    body = {
        "study": row.id,
        "judge": judge,
        "battles": len(found.battles),
        "calls": {
            "made": calls.made,
            "reused": calls.reused,
            "failed": calls.failed,
            "cost_usd": calls.cost_usd,
            "cost_unknown": calls.cost_unknown,
        },
        **report,
    }
    if as_json:
        print_json(body)
        return
    _print(body)


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print(body: dict[str, Any]) -> None:
    from codearena.cli.output import out, shown

    console = out()
    calls = body["calls"]
    console.print(
        shown(
            f"judge {body['judge']}: {body['battles']} battles, {calls['made']} calls made, "
            f"{calls['reused']} verdicts reused, cost ${calls['cost_usd']:.4f}"
            + (f" ({calls['cost_unknown']} calls of unknown cost)" if calls["cost_unknown"] else "")
        )
    )
    for kind, count in calls["failed"].items():
        console.print(shown(f"  {count} call(s) failed: {kind}"))
    for variant in body["variants"]:
        name = "with execution" if variant["with_execution"] else "without execution"
        kappa = variant["kappa"]
        interval = (
            f" [{_num(kappa['ci_low'])}, {_num(kappa['ci_high'])}]"
            if kappa["ci_low"] is not None
            else f" ({kappa['note']})"
            if kappa["note"]
            else ""
        )
        console.print(
            shown(
                f"{name}: {variant['n']} of {variant['battles']} battles judged; agreement with "
                f"the votes {_num(variant['accuracy'])}, kappa {_num(kappa['value'])}{interval}; "
                f"both orders agreed on {_num(variant['position_consistency'])}"
            )
        )
    for board, rows in body["leaderboards"].items():
        console.print(shown(f"{board} leaderboard:"))
        for row in rows:
            low, high = _num(row["ci_low"], 0), _num(row["ci_high"], 0)
            console.print(
                shown(f"  {row['rank']}. {row['model']}  {row['rating']:.0f} [{low}, {high}]")
            )
    for warning in body["warnings"]:
        console.print(shown(f"warning: {warning}"))
