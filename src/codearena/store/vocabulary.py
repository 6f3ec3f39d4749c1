"""The stored values of pairwise votes: one spelling each, older spellings accepted on input.

A blind battle's choice (``votes.choice``) and an imported vote's winner
(``imported_votes.winner``) are ``a``, ``b``, ``tie`` or ``both_bad``. Versions before
migration 0005 stored the platform's battles as ``bothbad``; input (the vote API, a votes CSV,
an older export) may still spell it ``bothbad``, ``both-bad`` or ``both bad``, and
:func:`vote_value` maps those to ``both_bad``.
"""

from __future__ import annotations

from typing import Literal, get_args

VoteValue = Literal["a", "b", "tie", "both_bad"]
VOTE_VALUES: tuple[VoteValue, ...] = get_args(VoteValue)
BOTH_BAD: VoteValue = "both_bad"
OLD_BOTH_BAD = ("bothbad", "both-bad", "both bad")
"""Older spellings of ``both_bad``, accepted on input and never stored."""


def vote_value(value: object) -> VoteValue | None:
    """The stored spelling of a vote value (any case, old spellings of ``both_bad`` mapped), or
    None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in OLD_BOTH_BAD:
        return BOTH_BAD
    for known in VOTE_VALUES:
        if text == known:
            return known
    return None


GenerationStatus = Literal["pending", "ok", "error", "cancelled", "interrupted"]
"""``generations.status``: ``pending`` until the call finishes; ``cancelled`` when it never did
(an interrupted fan-out); ``interrupted`` when the client of the OpenAI-compatible endpoint
went away mid-stream (the text is what had arrived)."""
GenerationKind = Literal["answer", "follow_up", "repair"]
"""``generations.kind``: the first answer to a task (turn 1), an answer to a follow-up the
person wrote, or an answer to a failure sent back (a repair round)."""
GENERATION_KINDS: tuple[GenerationKind, ...] = get_args(GenerationKind)
StudyTaskStatus = Literal["running", "done", "failed", "interrupted"]
"""``study_tasks.status``: a participant's task while its answers arrive, and how it ended."""
StudyStatus = Literal["open", "closed"]
"""``studies.status``."""
BenchRunStatus = Literal["running", "done"]
"""``bench_runs.status``: ``running`` until every item is done (an interrupted run stays
``running`` and can be resumed)."""
FixOutcome = Literal["done", "abandoned"]
"""``fixes.outcome``: how a participant's fix attempt ended (null while it is open)."""
FIX_OUTCOMES: tuple[FixOutcome, ...] = get_args(FixOutcome)
FIX_RUN_SOURCE = "fix"
"""``executions.source`` of a run of a participant's edited code (the fix editor): it measures
the participant's code, not the model's, so it is no execution of the study's answers
(``store.study_rows``) and never a repair round's failure."""
SideOrder = Literal["ab", "ba"]
"""``judge_verdicts.side_order``: a battle shown to a judge in the vote's order (``ab``) or with
its sides swapped (``ba``)."""
Pairing = Literal["uniform", "adaptive"]
"""``studies.pairing``: how a blind study draws the pair of the next battle (``stats.pairing``)."""
PAIRINGS: tuple[Pairing, ...] = get_args(Pairing)
StudyDesign = Literal["open", "crossover", "between"]
"""``studies.design``: participants write their own tasks (``open``), or work through the task
file with counterbalanced models (``crossover``) or one model or pair each (``between``); see
``studies.designs``."""
STUDY_DESIGNS: tuple[StudyDesign, ...] = get_args(StudyDesign)
