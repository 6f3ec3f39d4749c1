"""``codearena judge``: ask a model to judge a study's stored battles and compare with the people.

Each battle is judged in both orders of its sides (``ab`` and ``ba``), without the execution
results and, with ``with_execution``, also with them: up to four calls per battle. Every call
goes through the pipeline (:func:`codearena.pipeline.generate_turns`): a task with source
``judge`` holding the judge's messages, one generation with its tokens and cost, like any other
call. Its verdict is stored in ``judge_verdicts`` when the call finishes, so a second run asks
only what is still missing and never pays twice for a verdict it has.

:func:`summarise` turns the verdicts into the report: per variant (without / with execution)
the battles judged, how often the two orders agreed (position consistency), agreement with the
human votes (exact agreement over a, b, tie, both_bad and Cohen's kappa with a bootstrap
interval, :mod:`codearena.stats.kappa`; and agreement on the battles both called decisively),
and a judge leaderboard beside the human one on the same battles.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from codearena import stats
from codearena.gateway import Gateway, GatewayEvent
from codearena.judging.battles import Battle, StudyBattles, load_battles
from codearena.judging.prompt import ORDERS, Order, combine, messages, parse_verdict, unswap
from codearena.pipeline import Context, Turn, generate_turns
from codearena.stats.kappa import cohen_kappa
from codearena.store import Generation, Store, repo
from codearena.store.research_models import JudgeVerdict
from codearena.store.vocabulary import VoteValue

JUDGE_TEMPERATURE = 0.0
"""Judges answer at temperature 0: the same battle should get the same verdict."""

Key = tuple[str, Order, bool]
"""(vote id, order, with execution)."""


@dataclass
class Calls:
    """What a judging run asked and spent."""

    made: int = 0
    reused: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    cost_unknown: int = 0


def stored_verdicts(context: Context, study_id: str, judge: str) -> dict[Key, VoteValue | None]:
    """The verdicts this judge already gave on the study's battles."""
    return _verdicts(context.store, study_id, judge)


def _verdicts(store: Store, study_id: str, judge: str) -> dict[Key, VoteValue | None]:
    with store.session() as session:
        found = session.scalars(
            select(JudgeVerdict).where(
                JudgeVerdict.study_id == study_id, JudgeVerdict.judge == judge
            )
        ).all()
        return {(v.vote_id, v.side_order, v.with_execution): v.verdict for v in found}


def _sides(battle: Battle, order: Order, with_execution: bool) -> tuple[Any, Any]:
    a, b = (
        (battle.side_a_run, battle.side_b_run) if with_execution else (battle.side_a, battle.side_b)
    )
    return (a, b) if order == "ab" else (b, a)


async def judge_study(
    context: Context,
    gateway: Gateway,
    study_id: str,
    judge: str,
    battles: Sequence[Battle],
    *,
    with_execution: bool,
    listener: Callable[[GatewayEvent], None] | None = None,
) -> Calls:
    """Ask ``judge`` every verdict still missing (see the module doc); returns the calls."""
    known = stored_verdicts(context, study_id, judge)
    variants = (False, True) if with_execution else (False,)
    wanted = [
        (battle, order, variant)
        for battle in battles
        for variant in variants
        for order in ORDERS
        if (battle.vote_id, order, variant) not in known
    ]
    calls = Calls(reused=len(battles) * len(variants) * 2 - len(wanted))
    route = context.catalog.resolve(judge)

    async def one(battle: Battle, order: Order, variant: bool) -> None:
        first, second = _sides(battle, order, variant)
        sent = messages(battle.task, first, second)
        described = "with execution" if variant else "without execution"
        task = repo.create_task(
            context.store,
            prompt=f"judge battle {battle.vote_id} (order {order}, {described})",
            prompt_style="plain",
            output_language=None,
            temperature=JUDGE_TEMPERATURE,
            messages=sent,
            source="judge",
        )
        results, ids = await generate_turns(
            context,
            gateway,
            task.id,
            [Turn(judge, 0, sent)],
            temperature=JUDGE_TEMPERATURE,
            listener=listener,
        )
        result = results[0]
        calls.made += 1
        if result.cost_usd is None:
            calls.cost_unknown += 1
        else:
            calls.cost_usd += result.cost_usd
        if result.status != "ok":
            kind = result.error_kind or "error"
            calls.failed[kind] = calls.failed.get(kind, 0) + 1
            return
        verdict = unswap(parse_verdict(result.text), order)
        with context.store.session() as session:
            session.add(
                JudgeVerdict(
                    study_id=study_id,
                    vote_id=battle.vote_id,
                    judge=judge,
                    side_order=order,
                    with_execution=variant,
                    generation_id=ids[0],
                    verdict=verdict,
                )
            )

    del route  # resolved first: an unknown judge fails before anything is stored
    await asyncio.gather(*(one(*item) for item in wanted))
    return calls


def _board(pairs: Sequence[tuple[Battle, VoteValue]], seed: int) -> list[dict[str, Any]]:
    votes = [stats.Vote(b.model_a, b.model_b, winner, flagged=b.flagged) for b, winner in pairs]
    return [row.to_dict() for row in stats.leaderboard(votes, seed=seed)]


def summarise(
    found: StudyBattles,
    verdicts: dict[Key, VoteValue | None],
    *,
    with_execution: bool,
    seed: int = 0,
    rounds: int = 1000,
) -> dict[str, Any]:
    """The report of a judging run (see the module doc), as plain data."""
    battles = [b for b in found.battles if not b.flagged]
    variants_out: list[dict[str, Any]] = []
    boards: dict[str, list[dict[str, Any]]] = {}
    warnings: list[str] = []
    flagged = len(found.battles) - len(battles)
    if flagged:
        warnings.append(
            f"{flagged} self-identified battle(s) left out, as the leaderboard leaves them out"
        )
    for reason, count in sorted(found.skipped.items()):
        warnings.append(f"{count} vote(s) not judged: {reason}")
    for variant in (False, True) if with_execution else (False,):
        judged: list[tuple[Battle, VoteValue]] = []
        consistent = unparsed = missing = 0
        for battle in battles:
            keys: list[Key] = [(battle.vote_id, order, variant) for order in ORDERS]
            if not all(key in verdicts for key in keys):
                missing += 1
                continue
            ab, ba = (verdicts[key] for key in keys)
            final = combine(ab, ba)
            if final is None:
                unparsed += 1
                continue
            consistent += ab == ba
            judged.append((battle, final))
        agreement = cohen_kappa(
            [b.human for b, _ in judged], [v for _, v in judged], rounds=rounds, seed=seed
        )
        decisive = [(b.human, v) for b, v in judged if b.human in "ab" and v in ("a", "b")]
        human_counts = Counter(b.human for b, _ in judged)
        judge_counts = Counter(v for _, v in judged)
        name = "judge_with_execution" if variant else "judge"
        variants_out.append(
            {
                "with_execution": variant,
                "battles": len(battles),
                "n": len(judged),
                "missing": missing,
                "unparsed": unparsed,
                "position_consistency": consistent / len(judged) if judged else None,
                "accuracy": agreement.observed,
                "kappa": {
                    "value": agreement.kappa,
                    "ci_low": agreement.ci_low,
                    "ci_high": agreement.ci_high,
                    "note": agreement.note,
                },
                "decisive": {
                    "n": len(decisive),
                    "accuracy": (sum(h == v for h, v in decisive) / len(decisive))
                    if decisive
                    else None,
                },
                "human_choices": dict(sorted(human_counts.items())),
                "judge_choices": dict(sorted(judge_counts.items())),
            }
        )
        boards[name] = _board(judged, seed)
        if not variant:
            boards["human"] = _board([(b, b.human) for b, _ in judged], seed)
        if missing:
            warnings.append(
                f"{missing} battle(s) {'with' if variant else 'without'} execution lack a "
                "verdict in one order (a failed call): run the command again to ask for them"
            )
    return {"variants": variants_out, "leaderboards": boards, "warnings": warnings}


def judge_generation_ids(context: Context, study_id: str, judge: str) -> list[str]:
    """The generations of this judge's calls on the study (for costs and history)."""
    with context.store.session() as session:
        return list(
            session.scalars(
                select(Generation.id)
                .join(JudgeVerdict, JudgeVerdict.generation_id == Generation.id)
                .where(JudgeVerdict.study_id == study_id, JudgeVerdict.judge == judge)
            )
        )


def study_judges(
    store: Store, study_id: str, *, rounds: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """Every judge that judged the study's battles, with its report (``summarise``), for the
    study's report: what was asked of it is what its stored verdicts show."""
    with store.session() as session:
        rows = session.execute(
            select(JudgeVerdict.judge, JudgeVerdict.with_execution)
            .where(JudgeVerdict.study_id == study_id)
            .distinct()
        ).all()
    judges: dict[str, bool] = {}
    for judge, with_execution in rows:
        judges[judge] = judges.get(judge, False) or bool(with_execution)
    if not judges:
        return []
    found = load_battles(store, study_id)
    reports = []
    for judge in sorted(judges):
        verdicts = _verdicts(store, study_id, judge)
        summary = summarise(found, verdicts, with_execution=judges[judge], seed=seed, rounds=rounds)
        reports.append({"judge": judge, **summary})
    return reports
