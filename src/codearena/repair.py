"""Repair rounds: a failed answer's failure sent back to its model, up to K times.

``repair_rounds`` is the one loop ``generate --repair-rounds`` and ``bench --repair-rounds``
use: for every answer whose run did not pass, the failure goes back as the next turn of that
model's conversation (kind ``repair``, :mod:`codearena.conversations`), the new answer runs
against the same tests (the one execution step, :func:`codearena.evaluation.execute_answer`),
and so on until it passes, its call fails, or K rounds are spent. Round 0 is the first answer.

The failure is sent in one template:

::

    Your code did not pass the tests.
    Verdict: failed (1 of 3 tests passed)
    Failing test: test_empty (assertion)
    Error output (last lines):
    <the tail of stderr>

    Fix the code and reply with the complete corrected program in one fenced code block.

For input/output examples the failing example's input, expected output and the program's output
replace the failing test. The whole message is at most ``MAX_CHARS`` (2,000) characters: the
error output is cut from the front first (its last lines matter most), then the example's texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codearena.conversations import continue_conversations
from codearena.evaluation import execute_answer
from codearena.gateway import Gateway, Listener
from codearena.pipeline import Context, stored_code
from codearena.sandbox import ExecResult, Sandbox, TestSpec

MAX_CHARS = 2000
CLOSING = "Fix the code and reply with the complete corrected program in one fenced code block."
_EXAMPLE_CHARS = 300


def repair_prompt(result: ExecResult, tests: TestSpec | None) -> str:
    """The message that sends ``result`` (a run that did not pass) back to its model."""
    lines = ["Your code did not pass the tests." if tests else "Your code did not run cleanly."]
    verdict = f"Verdict: {result.verdict}"
    if result.tests_total is not None and result.tests_passed is not None:
        verdict += f" ({result.tests_passed} of {result.tests_total} tests passed)"
    elif result.exit_code not in (None, 0):
        verdict += f" (exit status {result.exit_code})"
    elif result.signal is not None:
        verdict += f" (killed by signal {result.signal})"
    lines.append(verdict)
    lines += _failing(result, tests)
    head = "\n".join(lines)
    budget = MAX_CHARS - len(head) - len(CLOSING) - len("\nError output (last lines):\n\n\n")
    tail = result.stderr.strip()
    if tail and budget > 0:
        tail = tail[-budget:]
        return f"{head}\nError output (last lines):\n{tail}\n\n{CLOSING}"[:MAX_CHARS]
    return f"{head}\n\n{CLOSING}"[-MAX_CHARS:]


def _failing(result: ExecResult, tests: TestSpec | None) -> list[str]:
    """A line (or three) naming the first test or example that failed."""
    for detail in result.details:
        if tests is not None and tests.kind == "io" and detail.get("verdict") != "passed":
            index = int(detail.get("index", 0))
            given, expected = tests.examples[index] if index < len(tests.examples) else ("", "")
            return [
                f"Failing example {index + 1}:",
                f"  input: {_short(given)}",
                f"  expected output: {_short(expected)}",
                f"  your output: {_short(str(detail.get('stdout', '')))}",
            ]
        if detail.get("ok") is False:
            reason = detail.get("reason")
            return [f"Failing test: {_name(detail)}" + (f" ({reason})" if reason else "")]
    return []


def _name(detail: dict[str, Any]) -> str:
    return str(detail.get("name", "?"))[:200]


def _short(text: str) -> str:
    text = text if len(text) <= _EXAMPLE_CHARS else text[:_EXAMPLE_CHARS] + "..."
    return repr(text)


@dataclass
class Rounds:
    """One answer's road: the generation and the execution of every round, round 0 first."""

    generation_ids: list[str]
    executions: list[ExecResult] = field(default_factory=list)

    @property
    def passed_at_round(self) -> int | None:
        """The first round whose answer passed, or None."""
        return next((i for i, e in enumerate(self.executions) if e.passed), None)


async def repair_rounds(
    context: Context,
    gateway: Gateway,
    sandbox: Sandbox,
    *,
    task_id: str,
    tests: TestSpec | None,
    language: str | None,
    answers: Sequence[Rounds],
    rounds: int,
    source: str,
    temperature: float | None,
    prefix: str | None = None,
    listener: Listener | None = None,
) -> None:
    """Extend each of ``answers`` (of one task, each with its round-0 execution) by up to
    ``rounds`` repair rounds, in place; every round's calls go out together."""
    for _ in range(rounds):
        failing = [
            a
            for a in answers
            if a.executions
            and len(a.executions) == len(a.generation_ids)
            and not a.executions[-1].passed
        ]
        if not failing:
            return
        prompts = [repair_prompt(a.executions[-1], tests) for a in failing]
        results, ids = await continue_conversations(
            context,
            gateway,
            [a.generation_ids[-1] for a in failing],
            prompts,
            "repair",
            temperature=temperature,
            listener=listener,
            max_turns=rounds + 1,
        )
        code = stored_code(context.store, ids)
        for answer, result, generation_id, blocks in zip(failing, results, ids, code, strict=True):
            answer.generation_ids.append(generation_id)
            if result.status != "ok":
                continue  # no answer to run: this road ends here
            executed = await execute_answer(
                context.store,
                sandbox,
                task_id=task_id,
                generation_id=generation_id,
                blocks=blocks,
                language=language,
                tests=tests,
                source=source,
                prefix=prefix,
            )
            answer.executions.append(executed.result)
