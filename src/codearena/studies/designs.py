"""Controlled study designs: which tasks a participant works through, in which order, and which
models answer each. Pure functions of the design, the study's models and tasks, the seed and the
participant's *slot* (0 for the first participant to join, 1 for the next, ...), so the whole
schedule can be stored, exported and rebuilt.

* ``open``: today's studies; participants write their own tasks (no schedule).
* ``crossover``: every participant works through the same task set (``per_participant`` of its
  tasks when given) and the models are counterbalanced per task. In a blind study the
  *conditions* are the ordered pairs ``(A, B)`` of different models (``K * (K - 1)`` of them); in a
  named study they are the ``K`` rotations of the model list (the order the answers are shown).
  Participant ``s`` gets, on task ``t``, condition ``(s + t) mod C``: over any ``C`` consecutive
  slots every task is answered under every condition exactly once, so each model answers each
  task equally often and in each position equally often.
* ``between``: each participant gets one condition for all tasks: one model (named) or one
  unordered pair (blind; the sides alternate from task to task, so each model is A as often as
  B). Slots are filled in randomised balanced blocks: slots ``b*C`` to ``b*C + C - 1`` get a
  seeded permutation of the ``C`` conditions, so after every full block each condition has the
  same number of participants.

Task order (both controlled designs): the rows of a Williams design, a balanced Latin square in
which every task comes in every position equally often and immediately follows every other
task equally often (``n`` rows for an even number of tasks, ``2n`` for an odd one); participant
``s`` takes row ``s mod rows``. With ``per_participant = m < n`` a participant does the first ``m``
tasks of their row, so each task is still done equally often over ``n`` consecutive slots; the
crossover's balance of conditions per task then holds only approximately (a task is done by the
slots whose row starts with it, not by every slot of a cycle).

The seed shuffles the labels (which model is model 0, which task is task 0, which permutation a
``between`` block gets) once; the structure above then fixes everything else.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, permutations

from codearena.store.vocabulary import STUDY_DESIGNS as DESIGNS
from codearena.store.vocabulary import StudyDesign as Design


@dataclass(frozen=True)
class Assignment:
    """One participant's schedule: the condition label (``between``), and per item the task's
    key and the models that answer it, in the order they are shown (A, B for a blind pair)."""

    slot: int
    condition: tuple[str, ...] | None
    items: tuple[tuple[str, tuple[str, ...]], ...]


def williams_rows(n: int) -> list[list[int]]:
    """A Williams design for ``n`` treatments: ``n`` rows (``2n`` when ``n`` is odd), each a
    permutation of ``range(n)``; every treatment is in every position equally often and every
    ordered pair of different treatments is adjacent (one right after the other) equally often."""
    if n < 1:
        raise ValueError("a design needs at least one task")
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    if n % 2 == 1 and n > 1:
        rows += [list(reversed(row)) for row in rows]
    return rows


def conditions(design: Design, mode: str, models: Sequence[str]) -> list[tuple[str, ...]]:
    """The design's conditions in their canonical order (see the module doc)."""
    if design == "open":
        return []
    if len(models) < 2:
        raise ValueError("a controlled design needs at least two models")
    if design == "crossover":
        if mode == "blind":
            return list(permutations(models, 2))
        return [tuple(models[i:]) + tuple(models[:i]) for i in range(len(models))]
    if design == "between":
        if mode == "blind":
            return list(combinations(models, 2))
        return [(m,) for m in models]
    raise ValueError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")


def _shuffled(items: Sequence[str], rng: random.Random) -> list[str]:
    out = list(items)
    rng.shuffle(out)
    return out


def _rng(seed: int) -> random.Random:
    return random.Random(f"codearena-design:{seed}")


def study_conditions(
    design: Design, mode: str, models: Sequence[str], seed: int
) -> list[tuple[str, ...]]:
    """The conditions of a study's design as its schedules spell them (the seed's labels)."""
    return conditions(design, mode, _shuffled(models, _rng(seed)))


def assign(
    design: Design,
    mode: str,
    models: Sequence[str],
    tasks: Sequence[str],
    slot: int,
    *,
    seed: int,
    per_participant: int | None = None,
) -> Assignment:
    """The schedule of the participant in ``slot`` (see the module doc). ``tasks`` are the task
    keys in the task file's order."""
    if design == "open":
        return Assignment(slot, None, ())
    if slot < 0:
        raise ValueError("slots count from 0")
    if not tasks:
        raise ValueError("a controlled design needs a task file with at least one task")
    if per_participant is not None and not 1 <= per_participant <= len(tasks):
        raise ValueError(
            f"tasks per participant must be between 1 and {len(tasks)} (the task file's size)"
        )
    rng = _rng(seed)
    labelled_models = _shuffled(models, rng)
    labelled_tasks = _shuffled(tasks, rng)
    conds = conditions(design, mode, labelled_models)
    rows = williams_rows(len(labelled_tasks))
    order = rows[slot % len(rows)][: per_participant or len(labelled_tasks)]
    if design == "crossover":
        items = tuple((labelled_tasks[t], conds[(slot + t) % len(conds)]) for t in order)
        return Assignment(slot, None, items)
    block, within = divmod(slot, len(conds))
    permutation = list(range(len(conds)))
    random.Random(f"codearena-design:{seed}:block:{block}").shuffle(permutation)
    condition = conds[permutation[within]]
    items = tuple(
        (
            labelled_tasks[t],
            condition if len(condition) == 1 or position % 2 == 0 else condition[::-1],
        )
        for position, t in enumerate(order)
    )
    return Assignment(slot, condition, items)
