"""Joining a study through its invite (a pseudonym, an optional e-mail) and accepting its
consent text; the participant id (``P-...``) is the only id the analysis sees."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from codearena.store import Store
from codearena.store.platform_models import Participant, Study, StudyInvite, participant_id
from codearena.studies.errors import Busy, NotAllowed, StudyError, UnknownItem
from codearena.studies.invites import USED, Invite
from codearena.studies.schedule import add_assignment

MAX_PSEUDONYM = 100
JOIN_ATTEMPTS = 5


class JoinInput(BaseModel):
    """The join form and ``POST /api/join/{token}`` alike; :func:`join` checks the values, so
    both doors give the same message for the same input."""

    model_config = ConfigDict(extra="forbid")
    pseudonym: str
    email: str | None = None


def returning(store: Store, invite: Invite, current_participant: str | None) -> Participant | None:
    """The participant a browser already is in the invite's study (it opened the link again):
    it goes on as that participant instead of joining a second time. None: a new join."""
    if current_participant is None:
        return None
    with store.session() as session:
        person = session.get(Participant, current_participant)
    if person is None or person.study_id != invite.study.id:
        return None
    return person


def check_free(invite: Invite) -> None:
    """A single-use invite someone else has used is refused (:class:`NotAllowed`)."""
    if invite.used_by is not None:
        raise NotAllowed(USED)


def join(store: Store, study: Study, data: JoinInput, invite: Invite | None = None) -> Participant:
    """A new participant of ``study``; through a single-use ``invite`` the join claims the
    invite atomically, so two browsers racing for one link give one participant. In a
    controlled study the participant gets the next slot's schedule in the same transaction."""
    if invite is not None:
        check_free(invite)
    pseudonym = data.pseudonym.strip()
    if not pseudonym or len(pseudonym) > MAX_PSEUDONYM:
        raise StudyError(f"choose a pseudonym (1 to {MAX_PSEUDONYM} characters)")
    email = (data.email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 320):
        raise StudyError("the e-mail address is not valid (it is optional: leave it empty)")
    for attempt in range(JOIN_ATTEMPTS):
        try:
            return _add(store, study, pseudonym, email, invite)
        except IntegrityError:  # another join took the same design slot: take the next one
            if attempt == JOIN_ATTEMPTS - 1:
                raise Busy("many people are joining at once: try again in a moment") from None
    raise AssertionError("unreachable")


def _add(
    store: Store, study: Study, pseudonym: str, email: str | None, invite: Invite | None
) -> Participant:
    with store.session() as session:
        participant = Participant(
            id=participant_id(), study_id=study.id, pseudonym=pseudonym, email=email
        )
        session.add(participant)
        if invite is not None and invite.invite_id is not None:
            session.flush()
            claimed = session.execute(
                update(StudyInvite)
                .where(StudyInvite.id == invite.invite_id, StudyInvite.participant_id.is_(None))
                .values(participant_id=participant.id, used_at=datetime.now(UTC))
            )
            if getattr(claimed, "rowcount", 0) != 1:  # another browser was first: roll back
                raise NotAllowed(USED)
        if study.design != "open":
            session.flush()
            add_assignment(session, study, participant.id)
    return participant


def consent(store: Store, participant_id: str) -> None:
    """Record the consent (once: accepting again keeps the first time)."""
    with store.session() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise UnknownItem("no such participant")
        if participant.consented_at is None:
            participant.consented_at = datetime.now(UTC)
