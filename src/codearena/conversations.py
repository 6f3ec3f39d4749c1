"""Conversations: a model's answer continued by follow-ups and repair rounds.

A conversation is the chain of generations of one model at one position of a task
(:class:`codearena.store.models.Generation`): turn 1 is the answer, each later turn names its
``parent_id`` and the user message that asked for it (``prompt``). Turn k is sent the task's
messages, then each earlier turn's answer (``assistant``) followed by the next turn's prompt
(``user``), so every model continues its own conversation and never sees another's.

Two guards, both before anything is stored or paid for: at most ``MAX_TURNS`` turns (5; the
``max_turns`` argument changes it), and the conversation's estimated size (characters / 4, the
gateway's own estimate when a provider reports no usage) must fit the model's context length
from the catalog, when the catalog knows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from codearena.gateway import CallResult, Gateway, Listener
from codearena.gateway.client import estimate_tokens
from codearena.pipeline import Context, InputError, Turn, generate_turns
from codearena.prompting import DEFAULT_TEMPERATURE
from codearena.store import Generation, Task
from codearena.store.vocabulary import GenerationKind

MAX_TURNS = 5


class ConversationError(InputError):
    """A follow-up that cannot be sent; the message says why and what to do."""


def conversation(context: Context, generation_id: str) -> list[Generation]:
    """The generations of a conversation up to ``generation_id``, turn 1 first."""
    chain: list[Generation] = []
    with context.store.session() as session:
        current = session.get(Generation, generation_id)
        if current is None:
            raise ConversationError(f"there is no answer {generation_id!r} to follow up")
        while current is not None:
            chain.append(current)
            current = session.get(Generation, current.parent_id) if current.parent_id else None
    return chain[::-1]


def messages_after(
    task_messages: Sequence[dict[str, str]], chain: Sequence[Generation], prompt: str
) -> list[dict[str, str]]:
    """The messages of the turn that follows ``chain`` when asked ``prompt``."""
    messages = [dict(m) for m in task_messages]
    for i, generation in enumerate(chain):
        if i > 0:
            messages.append({"role": "user", "content": generation.prompt or ""})
        messages.append({"role": "assistant", "content": generation.text})
    messages.append({"role": "user", "content": prompt})
    return messages


def next_turn(
    context: Context,
    parent_id: str,
    prompt: str,
    kind: GenerationKind,
    *,
    max_turns: int = MAX_TURNS,
) -> tuple[str, Turn]:
    """The task id and the :class:`Turn` that continues ``parent_id`` with ``prompt``, after
    both guards; raises :class:`ConversationError`."""
    if not prompt.strip():
        raise ConversationError("the follow-up is empty: write what the model should change")
    chain = conversation(context, parent_id)
    last = chain[-1]
    if last.status != "ok":
        raise ConversationError(
            f"the answer of {last.model} at turn {last.turn} did not arrive ({last.status}); "
            "a follow-up needs an answer to continue"
        )
    if last.turn >= max_turns:
        raise ConversationError(
            f"this conversation has reached its {max_turns} turns; start a new task to go on"
        )
    with context.store.session() as session:
        task = session.get(Task, last.task_id)
        assert task is not None
        task_messages = list(task.messages)
    messages = messages_after(task_messages, chain, prompt)
    size = estimate_tokens("".join(m["content"] for m in messages))
    limit = context.catalog.resolve(last.model).model.context_length
    if limit is not None and size > limit:
        raise ConversationError(
            f"this conversation would be about {size} tokens, more than the context of "
            f"{last.model} ({limit} tokens); start a new task with what you need"
        )
    turn = Turn(last.model, last.position, messages, last.turn + 1, last.id, kind, prompt)
    return last.task_id, turn


async def continue_conversations(
    context: Context,
    gateway: Gateway,
    parent_ids: Sequence[str],
    prompts: Sequence[str],
    kind: GenerationKind,
    *,
    temperature: float | None = DEFAULT_TEMPERATURE,
    listener: Listener | None = None,
    max_turns: int = MAX_TURNS,
    on_pending: Callable[[list[str]], None] | None = None,
) -> tuple[list[CallResult], list[str]]:
    """Send ``prompts[i]`` as the next turn of the conversation ending at ``parent_ids[i]``
    (all of one task), all at once; every guard is checked before any call is made.
    ``on_pending`` gets the new generations' ids once their rows exist, before any call."""
    if len(parent_ids) != len(prompts):
        raise ValueError("one prompt per conversation")
    planned = [
        next_turn(context, parent, prompt, kind, max_turns=max_turns)
        for parent, prompt in zip(parent_ids, prompts, strict=True)
    ]
    tasks = {task_id for task_id, _ in planned}
    if len(tasks) > 1:
        raise ValueError("conversations of one task at a time")
    if not planned:
        return [], []
    return await generate_turns(
        context,
        gateway,
        planned[0][0],
        [turn for _, turn in planned],
        temperature=temperature,
        listener=listener,
        on_pending=on_pending,
    )
