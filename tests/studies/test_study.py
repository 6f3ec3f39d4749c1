"""Creating, finding, opening and closing studies; the counts over ``store.study_rows``."""

from __future__ import annotations

import pytest

from codearena.catalog import Catalog
from codearena.errors import CodearenaError
from codearena.store import Store
from codearena.store.platform_models import Vote
from codearena.studies.errors import StudyError, UnknownItem
from codearena.studies.study import (
    DEFAULT_CONSENT,
    StudySpec,
    create_study,
    list_studies,
    owned_study,
    set_status,
    study_stats,
)
from tests.conftest import unique
from tests.studies.conftest import World


def test_the_spec_takes_the_forms_text_and_blanks() -> None:
    spec = StudySpec.model_validate(
        {"name": "s", "models": "a, b\nc", "survey": "", "budget_tasks": "", "budget_usd": " "}
    )
    assert spec.models == ["a", " b", "c"]
    assert (spec.survey, spec.budget_tasks, spec.budget_usd) == (None, None, None)


def test_a_valid_study_is_stored_open(world: World) -> None:
    a, b = unique("ok"), unique("ok")
    owner = world.researcher()
    study = create_study(world.store, world.catalog, StudySpec(name=" S ", models=[a, b, a]), owner)
    assert (study.name, study.models, study.status) == ("S", [a, b], "open")
    assert study.consent_text == DEFAULT_CONSENT and study.owner_id == owner
    assert [s.id for s in list_studies(world.store, owner)] == [study.id]
    assert list_studies(world.store, world.researcher()) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "give the study a name"),
        ({"models": ["x"]}, "2 to 8 different models, got 1"),
        ({"models": ["openai/gpt-4", "nope/unknown-model"]}, "unknown"),
        ({"mode": "secret"}, "invalid mode 'secret'"),
        ({"prompt_options": ["colour"]}, "unknown prompt option 'colour'"),
        ({"budget_tasks": 0}, "at least 1"),
        ({"budget_usd": 0}, "must be positive"),
        ({"survey": "/etc/passwd"}, "unknown survey"),
    ],
)
def test_bad_settings_are_a_study_error_and_store_nothing(
    store: Store, catalog: Catalog, fields: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"name": "s", "models": [unique("ok"), unique("ok")], **fields}
    with pytest.raises(StudyError, match=message) as caught:
        create_study(store, catalog, StudySpec.model_validate(values))
    assert isinstance(caught.value, CodearenaError) and caught.value.exit_code == 2
    assert list_studies(store) == []


def test_another_researchers_study_is_like_a_missing_one(world: World) -> None:
    alice, bob = world.researcher(), world.researcher()
    spec = StudySpec(name="s", models=[unique("ok"), unique("ok")])
    study = create_study(world.store, world.catalog, spec, alice)
    assert owned_study(world.store, study.id, alice).id == study.id
    assert owned_study(world.store, study.id, None).id == study.id  # an admin
    for ref, owner in ((study.id, bob), ("missing", None)):
        with pytest.raises(UnknownItem, match="no such study"):
            owned_study(world.store, ref, owner)


def test_set_status(world: World) -> None:
    study = world.study()
    assert set_status(world.store, study.id, "closed") == "closed"
    with pytest.raises(StudyError, match="open or closed"):
        set_status(world.store, study.id, "paused")
    with pytest.raises(UnknownItem):
        set_status(world.store, "missing", "open")


def test_the_counts_follow_the_study_rows_not_a_votes_own_copy(world: World) -> None:
    """A vote belongs to the study of its study task (``store.study_rows``), whatever its own
    ``study_id`` column says: the counts agree with the dashboard, the report and the export."""
    study, other = world.study("blind"), world.study("blind")
    person = world.participant(study)
    row = world.task(study, person)
    with world.store.session() as session:
        session.add(
            Vote(
                study_task_id=row.id,
                study_id=other.id,  # a stale copy pointing at another study
                participant_id=person.id,
                kind="battle",
                choice="a",
            )
        )
    assert study_stats(world.store, study.id) == {
        "participants": 1,
        "consented": 1,
        "tasks": 1,
        "votes": 1,
        "surveys_completed": 0,
    }
    assert study_stats(world.store, other.id)["votes"] == 0
