"""The web Run button and the CLI (``generate --run/--tests``) pick the same language and program
for the same stored answer: both go through ``codearena.answers.select_program``."""

from __future__ import annotations

from typing import Any

import pytest

from codearena import evaluation
from codearena.answers import Program, extract_code
from codearena.pipeline import stored_code
from codearena.sandbox import ExecResult, Limits, Sandbox, TestSpec
from codearena.store import Task
from codearena.store.platform_models import StudyTask
from tests.conftest import unique
from tests.web.conftest import Arena

PY_TESTS = {"kind": "python", "code": "assert add(1, 2) == 3\n", "examples": []}

# (reply, task output language, tests)
ANSWERS: list[tuple[str, str | None, dict[str, Any] | None]] = [
    ("```python\ndef add(a, b):\n    return a + b\n```\n", None, None),
    ("Here:\n```\nconsole.log(1 + 2);\n```\n", None, None),
    ("```\nx = 1\n```\nthen\n```js\nconsole.log(x)\n```\n", None, None),
    ("```bash\npip install nothing\n```\n```py\nprint(3)\n```\n", "Python", None),
    ("```rust\nfn main() {}\n```\n```\nprint(3)\n```\n", None, None),
    ("```js\nconsole.log(3)\n```\n```\nprint(3)\n```\n", None, PY_TESTS),
    (
        "```python\ndef helper():\n    pass\n```\n```python\ndef add(a, b):\n    return a + b\n```",
        None,
        {**PY_TESTS, "entry_point": "add"},
    ),
    ("```c++\nint main() { return 0; }\n```\n```\nconsole.log(1)\n```\n", "JavaScript", None),
    ("def add(a, b):\n    return a + b\n", None, None),
]


def _result() -> ExecResult:
    return ExecResult(
        verdict="passed",
        exit_code=0,
        signal=None,
        stdout="",
        stderr="",
        duration_ms=1.0,
        backend="stub",
    )


@pytest.mark.parametrize(("reply", "language", "tests"), ANSWERS)
async def test_web_and_cli_pick_the_same_language_and_program(
    arena: Arena,
    monkeypatch: pytest.MonkeyPatch,
    reply: str,
    language: str | None,
    tests: dict[str, Any] | None,
) -> None:
    ran: dict[str, Program] = {}
    door = {"now": "cli"}  # both doors reach the one execution step; the test says which ran

    async def fake(
        _sandbox: Sandbox,
        program: Program,
        _tests: TestSpec | None,
        _limits: Limits | None = None,
    ) -> ExecResult:
        ran[door["now"]] = program
        return _result()

    monkeypatch.setattr(evaluation, "aexecute", fake)

    model, other = unique("ok"), unique("ok")
    client = await arena.participant(arena.study([model, other]))
    response = await client.post(
        "/api/tasks", {"text": "Write add(a, b)", "models": [model, other]}
    )
    assert response.status_code == 202, response.text
    study_task_id = response.json()["id"]
    await arena.finish(client, study_task_id)

    # the same stored answer for both paths: this reply, its blocks as the pipeline stores them
    store = arena.context.store
    with store.session() as session:
        row = session.get(StudyTask, study_task_id)
        assert row is not None and row.task_id is not None
        row.tests = tests
        task = session.get(Task, row.task_id)
        assert task is not None
        task.output_language, task.tests = language, tests
        generation = next(g for g in task.generations if g.position == 0)
        generation.text = reply
        generation.code = [b.to_dict() for b in extract_code(reply)]
        task_id, generation_id = task.id, generation.id

    spec = None
    if tests:
        spec = TestSpec("python", tests["code"], entry_point=tests.get("entry_point"))
    await evaluation.execute_answer(
        store,
        _Stub(),  # type: ignore[arg-type]
        task_id=task_id,
        generation_id=generation_id,
        blocks=stored_code(store, [generation_id])[0],
        language=language,
        tests=spec,
        source="cli",
    )
    cli = ran["cli"]
    assert cli.block_index is not None
    door["now"] = "web"

    run = await client.post(
        f"/api/tasks/{study_task_id}/answers/0/run", {"block_index": cli.block_index}
    )
    assert run.status_code == 200, run.text
    assert run.json()["language"] == cli.language
    web = ran["web"]
    assert (web.language, web.block_index, web.source) == (
        cli.language,
        cli.block_index,
        cli.source,
    )
    with store.session() as session:
        languages = {e.language for e in session.query(evaluation.Execution)}
        assert languages == {cli.language}


class _Stub:
    """Never runs anything: ``aexecute`` is replaced; execute_answer only reads its name."""

    name = "stub"
