"""A study as the researcher's JSON (the API and ``codearena study create/list --json``)."""

from __future__ import annotations

from typing import Any

from codearena.store.platform_models import Study
from codearena.studies.invites import invite_url


def study_dict(study: Study, secret: str, base_url: str) -> dict[str, Any]:
    return {
        "id": study.id,
        "name": study.name,
        "description": study.description,
        "consent_text": study.consent_text,
        "models": study.models,
        "mode": study.mode,
        "prompt_options": study.prompt_options,
        "survey": study.survey_name,
        "budget_tasks": study.budget_tasks,
        "budget_usd": study.budget_usd,
        "spend_cap_usd": study.spend_cap_usd,
        "pairing": study.pairing,
        "design": study.design,
        "design_seed": study.design_seed,
        "tasks_per_participant": study.tasks_per_participant,
        "status": study.status,
        "created_at": study.created_at.isoformat(),
        "invite_url": invite_url(secret, study.id, base_url),
    }
