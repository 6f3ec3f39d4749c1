"""Repair rounds and conversations: the failure template, the messages of a later turn, the
guards, and ``generate --repair-rounds`` end to end against a fake model that is wrong until its
failure is sent back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.catalog import Route
from codearena.config import Settings
from codearena.conversations import ConversationError, continue_conversations, next_turn
from codearena.gateway import Gateway
from codearena.pipeline import Context, run_task
from codearena.prompting import PromptOptions
from codearena.repair import CLOSING, MAX_CHARS, repair_prompt
from codearena.sandbox import ExecResult, TestSpec
from codearena.store import Generation, Store
from codearena.store.models import Execution
from codearena.testing.fake_upstream import FakeUpstream
from tests.conftest import unique
from tests.test_cli import run

TESTS = "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def _failed(**fields: object) -> ExecResult:
    values: dict[str, object] = {
        "verdict": "failed",
        "exit_code": 1,
        "signal": None,
        "stdout": "",
        "stderr": "",
        "duration_ms": 3.0,
        "backend": "bwrap",
    }
    values.update(fields)
    return ExecResult(**values)  # type: ignore[arg-type]


def test_the_template_names_the_failing_test_and_the_error_tail() -> None:
    result = _failed(
        tests_passed=1,
        tests_total=3,
        stderr="Traceback...\nAssertionError: 5 != -1\n",
        details=[
            {"name": "test_one", "ok": True},
            {"name": "test_add", "ok": False, "reason": "assertion"},
        ],
    )
    text = repair_prompt(result, TestSpec("python", TESTS))
    assert text.splitlines()[:3] == [
        "Your code did not pass the tests.",
        "Verdict: failed (1 of 3 tests passed)",
        "Failing test: test_add (assertion)",
    ]
    assert "Error output (last lines):\nTraceback...\nAssertionError: 5 != -1" in text
    assert text.endswith(CLOSING)


def test_the_template_shows_a_failing_example() -> None:
    spec = TestSpec("io", examples=[("1\n", "1\n"), ("abc\n", "cba\n")])
    result = _failed(
        details=[
            {"index": 0, "verdict": "passed"},
            {"index": 1, "verdict": "failed", "stdout": "abc\n"},
        ]
    )
    text = repair_prompt(result, spec)
    assert (
        "Failing example 2:\n  input: 'abc\\n'\n  expected output: 'cba\\n'\n  your output: 'abc\\n'"
        in text
    )


def test_the_template_is_capped_and_keeps_the_last_lines() -> None:
    stderr = "".join(f"line {i}\n" for i in range(5000)) + "THE LAST LINE\n"
    text = repair_prompt(_failed(stderr=stderr), TestSpec("python", TESTS))
    assert len(text) <= MAX_CHARS
    assert "THE LAST LINE" in text and "line 0\n" not in text and text.endswith(CLOSING)


async def _first_answers(
    settings: Settings, tmp_path: Path, models: list[str]
) -> tuple[Context, list[str]]:
    context = Context(settings, Store(f"sqlite:///{tmp_path / 'c.db'}"), None)  # type: ignore[arg-type]
    from codearena.catalog import Catalog

    context.catalog = Catalog(settings)
    async with Gateway(settings, context.catalog) as gateway:
        outcome = await run_task(
            context, gateway, "Write add(a, b).", models, PromptOptions(), checks=False
        )
    return context, outcome.generation_ids


async def test_each_model_continues_its_own_conversation(
    settings: Settings, tmp_path: Path, fake: FakeUpstream
) -> None:
    first, second = unique("ok"), unique("wrong-1")
    context, ids = await _first_answers(settings, tmp_path, [first, second])
    async with Gateway(settings, context.catalog) as gateway:
        results, new_ids = await continue_conversations(
            context, gateway, ids, ["Now handle floats.", "Now handle floats."], "follow_up"
        )
    assert [r.status for r in results] == ["ok", "ok"]
    with context.store.session() as session:
        rows = [session.get(Generation, i) for i in new_ids]
        parents = [session.get(Generation, i) for i in ids]
        assert [(r.turn, r.kind, r.parent_id, r.position) for r in rows if r] == [
            (2, "follow_up", ids[0], 0),
            (2, "follow_up", ids[1], 1),
        ]
        parent_texts = [p.text for p in parents if p]
    names = {m.removeprefix("openrouter:") for m in (first, second)}
    sent = [r.body for r in fake.requests if r.body and r.body.get("model") in names]
    by_model = {
        b["model"].removeprefix("openrouter:"): b["messages"]
        for b in sent
        if len(b["messages"]) > 2
    }
    for model, text in zip((first, second), parent_texts, strict=True):
        messages = by_model[model.removeprefix("openrouter:")]
        assert [m["role"] for m in messages[-3:]] == ["user", "assistant", "user"]
        assert messages[-2]["content"] == text, "its own earlier answer, never the other's"
        assert messages[-1]["content"] == "Now handle floats."


async def test_guards_refuse_before_anything_is_sent(
    settings: Settings, tmp_path: Path, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, (generation_id,) = await _first_answers(settings, tmp_path, [unique("ok")])
    with pytest.raises(ConversationError, match="empty"):
        next_turn(context, generation_id, "  ", "follow_up")
    with pytest.raises(ConversationError, match="reached its 1 turns"):
        next_turn(context, generation_id, "more", "follow_up", max_turns=1)
    known = context.catalog.resolve(_model_of(context, generation_id))
    small = Route(dataclasses.replace(known.model, context_length=10), known.provider)
    monkeypatch.setattr(context.catalog, "resolve", lambda _model: small)
    with pytest.raises(
        ConversationError, match=r"about \d+ tokens, more than the context .* \(10 tokens\)"
    ):
        next_turn(context, generation_id, "more " * 50, "follow_up")
    with pytest.raises(ConversationError, match="no answer"):
        next_turn(context, "nope", "more", "follow_up")


def _model_of(context: Context, generation_id: str) -> str:
    with context.store.session() as session:
        row = session.get(Generation, generation_id)
        assert row is not None
        return row.model


def test_generate_repair_rounds_until_it_passes(
    env: Path, capsys: pytest.CaptureFixture[str], fake: FakeUpstream
) -> None:
    tests = env / "t.py" if env.is_dir() else Path("t.py")
    tests.write_text(TESTS)
    right, wrong_twice, never = unique("ok"), unique("wrong-2"), unique("wrong-9")
    code, out, err = run(
        capsys,
        "generate",
        "Write add(a, b).",
        "-m",
        right,
        "-m",
        wrong_twice,
        "-m",
        never,
        "--tests",
        str(tests),
        "--repair-rounds",
        "3",
        "--json",
    )
    assert code == 0, err
    results = {r["model"]: r for r in json.loads(out)["results"]}
    assert results[right]["passed_at_round"] == 0 and len(results[right]["rounds"]) == 1
    assert results[wrong_twice]["passed_at_round"] == 2
    assert [r["verdict"] for r in results[wrong_twice]["rounds"]] == ["failed", "failed", "passed"]
    assert results[never]["passed_at_round"] is None and len(results[never]["rounds"]) == 4
    assert results[never]["execution"]["verdict"] == "failed", "execution stays the first answer's"
    # the failure really went back: the repair turn's last message is the template
    repairs = [
        r.body["messages"][-1]["content"]
        for r in fake.requests
        if r.body
        and r.body.get("model") == wrong_twice.removeprefix("openrouter:")
        and len(r.body["messages"]) > 2
    ]
    assert len(repairs) == 2 and all(
        m.startswith("Your code did not pass the tests.") for m in repairs
    )
    assert "Failing test: test_add" in repairs[0]


def test_generate_repair_rounds_are_stored_as_a_chain(
    env: Path, capsys: pytest.CaptureFixture[str], fake: FakeUpstream
) -> None:
    tests = Path("t.py")
    tests.write_text(TESTS)
    model = unique("wrong-1")
    code, out, _ = run(
        capsys,
        "generate",
        "Write add.",
        "-m",
        model,
        "--tests",
        str(tests),
        "--repair-rounds",
        "2",
        "--json",
    )
    assert code == 0
    task_id = json.loads(out)["task_id"]
    from codearena.config import load_settings

    store = Store(load_settings().database_url)
    with store.session() as session:
        rows = list(
            session.scalars(
                select(Generation).where(Generation.task_id == task_id).order_by(Generation.turn)
            )
        )
        executions = list(session.scalars(select(Execution).where(Execution.task_id == task_id)))
        assert [(g.turn, g.kind) for g in rows] == [(1, "answer"), (2, "repair")]
        assert rows[1].parent_id == rows[0].id and rows[1].prompt and rows[1].position == 0
        verdicts = {e.generation_id: e.verdict for e in executions}
        assert verdicts == {rows[0].id: "failed", rows[1].id: "passed"}


def test_repair_rounds_need_tests(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "generate", "Write add.", "-m", unique("ok"), "--repair-rounds", "1")
    assert code == 2 and "--repair-rounds needs tests" in err
