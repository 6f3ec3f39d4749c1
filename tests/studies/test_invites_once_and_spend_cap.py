"""Single-use invites (hashed, claimed once), a returning browser, and the study's spend cap."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from codearena.store.models import Generation
from codearena.store.platform_models import Participant, StudyInvite
from codearena.studies import participants
from codearena.studies.errors import NotAllowed, StudyError, UnknownItem
from codearena.studies.invites import (
    SINGLE_USE_PREFIX,
    create_single_use,
    invite_token,
    platform_secret,
    resolve_invite,
    token_digest,
)
from codearena.studies.participants import JoinInput
from codearena.studies.study import (
    SPEND_CAP_REACHED,
    StudySpec,
    create_study,
    spend_cap_reason,
    spend_view,
    study_spend,
)
from codearena.studies.tasks import budget_reason
from tests.conftest import unique
from tests.studies.conftest import World


def test_single_use_tokens_are_stored_hashed_and_claimed_once(world: World) -> None:
    study = world.study()
    tokens = create_single_use(world.store, study.id, 3)
    assert len(set(tokens)) == 3 and all(t.startswith(SINGLE_USE_PREFIX) for t in tokens)
    with world.store.session() as session:
        rows = list(session.scalars(select(StudyInvite).where(StudyInvite.study_id == study.id)))
    assert {r.token_hash for r in rows} == {token_digest(t) for t in tokens}
    assert all(t not in r.token_hash for t in tokens for r in rows)  # never the token itself
    secret = platform_secret(world.store)
    invite = resolve_invite(world.store, secret, tokens[0])
    assert invite.study.id == study.id and invite.invite_id and invite.used_by is None
    person = participants.join(world.store, study, JoinInput(pseudonym="ann"), invite)
    used = resolve_invite(world.store, secret, tokens[0])
    assert used.used_by == person.id
    with pytest.raises(NotAllowed, match="already been used"):
        participants.join(world.store, study, JoinInput(pseudonym="bob"), used)
    # a stale copy of the free invite (two browsers racing) still cannot claim it twice
    with pytest.raises(NotAllowed, match="already been used"):
        participants.join(world.store, study, JoinInput(pseudonym="eve"), invite)
    with world.store.session() as session:
        names = set(
            session.scalars(select(Participant.pseudonym).where(Participant.study_id == study.id))
        )
    assert names == {"ann"}
    # the same browser (its participant) continues instead of joining again
    assert participants.returning(world.store, used, person.id) is not None
    assert participants.returning(world.store, used, None) is None
    # the other tokens and the study's ordinary link still work
    assert resolve_invite(world.store, secret, tokens[1]).used_by is None
    assert resolve_invite(world.store, secret, invite_token(secret, study.id)).invite_id is None


def test_unknown_single_use_token_and_bad_counts(world: World) -> None:
    study = world.study()
    secret = platform_secret(world.store)
    with pytest.raises(UnknownItem):
        resolve_invite(world.store, secret, SINGLE_USE_PREFIX + "nope")
    for count in (0, 1001):
        with pytest.raises(StudyError, match="1 to 1000"):
            create_single_use(world.store, study.id, count)
    with pytest.raises(UnknownItem):
        create_single_use(world.store, "no-such-study", 1)


def test_returning_is_only_for_the_same_study(world: World) -> None:
    first, second = world.study(), world.study()
    person = world.participant(first)
    secret = platform_secret(world.store)
    other = resolve_invite(world.store, secret, invite_token(secret, second.id))
    assert participants.returning(world.store, other, person.id) is None
    same = resolve_invite(world.store, secret, invite_token(secret, first.id))
    found = participants.returning(world.store, same, person.id)
    assert found is not None and found.id == person.id


def test_spend_cap_is_validated_and_enforced(world: World) -> None:
    with pytest.raises(StudyError, match="spend cap"):
        create_study(
            world.store,
            world.catalog,
            StudySpec(name="x", models=[unique("ok"), unique("ok")], spend_cap_usd=0),
        )
    blank = StudySpec(name="x", models=[unique("ok"), unique("ok")], spend_cap_usd="")  # type: ignore[arg-type]
    assert blank.spend_cap_usd is None
    study = world.study(spend_cap_usd=0.5)
    uncapped = world.study()
    person = world.participant(study)
    assert spend_cap_reason(world.store, study) is None  # nothing spent yet
    row = world.task(study, person)
    with world.store.session() as session:
        session.execute(
            update(Generation).where(Generation.task_id == row.task_id).values(cost_usd=0.3)
        )
    assert study_spend(world.store, study.id) == pytest.approx(0.6)
    assert spend_view(world.store, study) == {
        "spent_usd": 0.6,
        "api_spent_usd": 0.0,
        "spend_cap_usd": 0.5,
    }
    assert spend_cap_reason(world.store, study) == SPEND_CAP_REACHED
    # every participant's task form and new task get the reason (one source: budget_reason)
    other = world.participant(study)
    assert budget_reason(world.store, study, other.id) == SPEND_CAP_REACHED
    assert spend_cap_reason(world.store, uncapped) is None  # no cap: never refused
    assert study_spend(world.store, uncapped.id) == 0.0
