"""The errors of the participant platform: one tree under :class:`StudyError`.

Every service of ``codearena.studies`` raises one of these (never an HTTP error): the message
says what to do, and nothing was changed. The web layer turns each class into its HTTP status in
one place (``codearena.web.errors.translate``); the CLI prints the message as one ``error:`` line.
"""

from __future__ import annotations

from codearena.errors import FAILURE, CodearenaError

__all__ = ["Busy", "Conflict", "NotAllowed", "RunUnavailable", "StudyError", "UnknownItem"]


class StudyError(CodearenaError, ValueError):
    """Invalid input (study settings, a task, a rating, a survey answer); the message says what
    to fix."""


class UnknownItem(StudyError, LookupError):
    """No such study, task, answer, code block, question or participant, or not one the person
    may see (someone else's task is reported exactly like a missing one)."""


class NotAllowed(StudyError):
    """The study forbids it now: it is closed, or the participant's budget is used up."""


class Conflict(StudyError):
    """Not in the current state: an answer still streaming, a second vote, a locked survey."""


class Busy(StudyError):
    """Too much at once (the participant's running tasks); trying again later will work."""


class RunUnavailable(StudyError):
    """The sandbox cannot run code on this server; the participant can do nothing about it."""

    exit_code = FAILURE
