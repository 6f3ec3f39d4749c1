"""What happened in a study, counted from its rows: the facts the report's methods paragraph is
written from (``reports.build._methods``), so that it claims nothing the data do not show.

Every figure here is a count or a date of rows ``load.load_study`` read through
``store.study_rows``: collection dates of the platform's rows (participants who joined on the
platform, their tasks, ratings, votes and survey answers), the import dates of imported votes,
ratings and survey respondents (which carry no collection date of their own), counts by source,
the exclusions and their reasons, which answers ran (and on which sandbox backend) and which had
tests, the static checks, the temperatures and prompt options stored with the tasks, and the
exact model ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from codearena.analysis.load import BATTLE_WINNERS, StudyData
from codearena.survey.aliases import OTHER, normalize

PLATFORM = "platform"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _span(moments: Iterable[datetime | None]) -> dict[str, str] | None:
    """``{"first", "last"}`` as ISO dates (YYYY-MM-DD), or None without any moment."""
    known = sorted(_aware(m) for m in moments if m is not None)
    if not known:
        return None
    return {"first": known[0].date().isoformat(), "last": known[-1].date().isoformat()}


def _tested(verdict: str, test_kind: str | None) -> bool:
    """A run against tests (the pass rate's rule: a ``ran`` verdict checked nothing)."""
    return bool(test_kind) and verdict != "ran"


def _through_alias(raw: str, value: Any) -> int:
    """How many parts of an imported answer reached their option through the alias file: a
    part whose text (normalised) is not the option it was stored as. Parts filed under Other
    are not counted (an unknown answer and an alias to Other look the same)."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return int(normalize(raw) != normalize(f"{value:g}"))
    if isinstance(value, str):
        return int(
            value != OTHER and not value.startswith("Other") and normalize(raw) != normalize(value)
        )
    if isinstance(value, list) and not any(str(v).startswith("Other") for v in value):
        options = {normalize(str(v)) for v in value}
        return sum(
            1 for part in raw.split(";") if normalize(part) and normalize(part) not in options
        )
    return 0


def collection(data: StudyData) -> dict[str, Any]:
    """The study's facts, JSON-ready (see the module's docstring)."""
    platform_people = [p for p in data.participants if (p.source or PLATFORM) == PLATFORM]
    imported_people = [p for p in data.participants if (p.source or PLATFORM) != PLATFORM]
    platform_ids = {p.id for p in platform_people}
    imported_ids = {p.id for p in imported_people}
    platform_answers = [a for a in data.answers if a.participant_id in platform_ids]
    imported_answers = [a for a in data.answers if a.participant_id in imported_ids]
    battles = [v for v in data.votes if v.kind == "battle"]
    valid = [
        v
        for v in battles
        if BATTLE_WINNERS.get(v.choice or "") and v.model_a and v.model_b and v.model_a != v.model_b
    ]
    generations = list(data.generations.values())
    status = Counter(g.status for g in generations)
    kinds = Counter(g.kind or "answer" for g in generations)
    ran = {e.generation_id for e in data.executions}
    tested = {e.generation_id for e in data.executions if _tested(e.verdict, e.test_kind)}
    backends = Counter(e.backend for e in data.executions if e.backend)
    tasks = list(data.tasks.values())
    temperatures = sorted({t.temperature for t in tasks if t.temperature is not None})
    models = sorted({g.model for g in generations})
    return {
        "platform": {
            "participants": len(platform_people),
            "consented": sum(1 for p in platform_people if p.consented_at),
            "survey_completed": sum(1 for p in platform_people if p.survey_completed_at),
            "study_tasks": len(data.study_tasks),
            "tasks": len(tasks),
            "dates": _span(
                [p.created_at for p in platform_people]
                + [st.created_at for st in data.study_tasks]
                + [r.updated_at for r in data.ratings]
                + [v.created_at for v in data.votes]
                + [a.updated_at for a in platform_answers]
            ),
            "ratings": len(data.ratings),
            "raters": len({r.participant_id for r in data.ratings}),
            "battles": len(battles),
            "valid_battles": len(valid),
            "self_identified": sum(1 for v in valid if v.self_identified),
            "both_bad": sum(1 for v in valid if BATTLE_WINNERS.get(v.choice or "") == "both_bad"),
            "upvotes": sum(1 for v in data.votes if v.kind == "upvote"),
            "survey_respondents": len({a.participant_id for a in platform_answers}),
        },
        "imported_votes": {
            "n": len(data.imported),
            "sources": sorted({v.source for v in data.imported}),
            "imported": _span(v.imported_at for v in data.imported),
        },
        "imported_ratings": {
            "n": len(data.imported_ratings),
            "sources": sorted({r.source for r in data.imported_ratings}),
            "imported": _span(r.imported_at for r in data.imported_ratings),
        },
        "imported_survey": {
            "respondents": len({a.participant_id for a in imported_answers}),
            # answers (or parts of multi-select answers) matched through the alias file
            "aliased": sum(_through_alias(a.raw, a.value) for a in data.answers if a.raw),
            "imported": _span(p.created_at for p in imported_people),
        },
        "generations": {
            "n": len(generations),
            "ok": status.get("ok", 0),
            "failed": len(generations) - status.get("ok", 0),
            "failed_by_status": {k: v for k, v in sorted(status.items()) if k != "ok"},
            "answers": kinds.get("answer", 0),
            "follow_ups": kinds.get("follow_up", 0),
            "repairs": kinds.get("repair", 0),
            "models": models,
            "with_code": sum(1 for g in generations if g.status == "ok" and g.code),
        },
        "executions": {
            "n": len(data.executions),
            "answers_run": len(ran),
            "answers_tested": len(tested),
            "answers_run_without_tests": len(ran - tested),
            "backends": dict(sorted(backends.items())),
            "fix_runs": sum(f.runs or 0 for f in data.fixes),
            "fixes": len(data.fixes),
        },
        "checks": {
            "answers_measured": len(data.metrics),
            "tools": sorted(data.finding_tools),
        },
        "options": {
            "temperatures": temperatures,
            "tasks_without_temperature": sum(1 for t in tasks if t.temperature is None),
            "requirements": sorted({t.requirement for t in tasks if t.requirement}),
            "tones": sorted({t.tone for t in tasks if t.tone}),
            "output_languages": sorted({t.output_language for t in tasks if t.output_language}),
        },
    }


__all__ = ["collection"]
