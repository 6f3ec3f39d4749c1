"""One entry point per kind of change, shared by the workbench's forms and its JSON API:
``create_item`` (codes, concepts, categories) and ``apply_action`` (rename, merge, delete,
concept, category). Each returns a sentence saying what was done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codearena.coding.edits import (
    create_category,
    create_code,
    create_concept,
    merge,
    remove,
    rename,
    set_code_concept,
    set_concept_category,
)
from codearena.coding.errors import CodingError, CodingNotFound
from codearena.store import Store
from codearena.store.research_models import CodingCategory, CodingCode, CodingConcept

ENTITIES: dict[str, Any] = {
    "codes": CodingCode,
    "concepts": CodingConcept,
    "categories": CodingCategory,
}


def create_item(store: Store, study_id: str, entity: str, data: Mapping[str, str | None]) -> str:
    name = data.get("name") or ""
    if entity == "codes":
        code = create_code(store, study_id, data.get("question") or "", name, data.get("concept"))
        return f"code {code.name!r} created for {code.question}"
    if entity == "concepts":
        concept = create_concept(store, study_id, name, data.get("category"))
        return f"concept {concept.name!r} created"
    if entity == "categories":
        return f"category {create_category(store, study_id, name).name!r} created"
    raise CodingNotFound("no such kind of item: use codes, concepts or categories")


def apply_action(
    store: Store,
    study_id: str,
    entity: str,
    item_id: str,
    action: str,
    data: Mapping[str, str | None],
) -> str:
    """Rename, merge, delete, regroup one code, concept or category; returns what was done."""
    model = ENTITIES.get(entity)
    if model is None:
        raise CodingNotFound("no such kind of item: use codes, concepts or categories")
    label = entity.removesuffix("s").replace("categorie", "category")
    if action == "rename":
        row = rename(store, model, study_id, item_id, data.get("name") or "")
        return f"{label} renamed to {row.name!r}"
    if action == "merge":
        if not data.get("into"):
            raise CodingError(f"choose the {label} to merge into")
        row = merge(store, model, study_id, item_id, data.get("into") or "")
        return f"merged into {label} {row.name!r}"
    if action == "delete":
        remove(store, model, study_id, item_id)
        return f"{label} deleted"
    if action == "concept" and entity == "codes":
        code = set_code_concept(store, study_id, item_id, data.get("concept"))
        return f"code {code.name!r} " + ("grouped" if code.concept_id else "ungrouped")
    if action == "category" and entity == "concepts":
        concept = set_concept_category(store, study_id, item_id, data.get("category"))
        return f"concept {concept.name!r} " + ("grouped" if concept.category_id else "ungrouped")
    raise CodingNotFound(f"no action {action!r} for {entity}")
