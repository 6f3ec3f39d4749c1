"""Invite tokens, joining and consent."""

from __future__ import annotations

import pytest

from codearena.store.platform_models import Participant
from codearena.studies import participants
from codearena.studies.errors import NotAllowed, StudyError, UnknownItem
from codearena.studies.invites import (
    INVALID,
    invite_token,
    invite_url,
    platform_secret,
    study_from_token,
)
from codearena.studies.participants import JoinInput
from codearena.studies.study import set_status
from tests.studies.conftest import World


def test_a_token_opens_its_study_until_it_closes(world: World) -> None:
    secret = platform_secret(world.store)
    assert platform_secret(world.store) == secret  # generated once
    study = world.study()
    token = invite_token(secret, study.id)
    assert invite_url(secret, study.id, "https://x.org/") == f"https://x.org/join/{token}"
    assert study_from_token(world.store, secret, token).id == study.id
    with pytest.raises(UnknownItem, match=INVALID):
        study_from_token(world.store, "another secret", token)
    with pytest.raises(UnknownItem, match=INVALID):
        study_from_token(world.store, secret, invite_token(secret, "missing"))
    set_status(world.store, study.id, "closed")
    with pytest.raises(NotAllowed, match="this study is closed"):
        study_from_token(world.store, secret, token)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (JoinInput(pseudonym="  "), "choose a pseudonym"),
        (JoinInput(pseudonym="x" * 101), "1 to 100 characters"),
        (JoinInput(pseudonym="ada", email="not-an-address"), "e-mail address is not valid"),
    ],
)
def test_a_bad_join_stores_nobody(world: World, data: JoinInput, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        participants.join(world.store, world.study(), data)
    with world.store.session() as session:
        assert session.query(Participant).count() == 0


def test_consent_is_kept_once(world: World) -> None:
    study = world.study()
    person = participants.join(world.store, study, JoinInput(pseudonym=" ada ", email=" "))
    assert (person.pseudonym, person.email) == ("ada", None)
    participants.consent(world.store, person.id)
    with world.store.session() as session:
        first = session.get(Participant, person.id)
        assert first is not None and first.consented_at is not None
        when = first.consented_at
    participants.consent(world.store, person.id)
    with world.store.session() as session:
        again = session.get(Participant, person.id)
        assert again is not None and again.consented_at == when
    with pytest.raises(UnknownItem, match="no such participant"):
        participants.consent(world.store, "P-missing")
