"""The calls made with a study's API tokens are exported (figures, never their text, the token
or its account) and summarised per model for the dashboard; other studies' calls are not."""

from __future__ import annotations

from pathlib import Path

from codearena.analysis.api_calls import api_usage
from codearena.exports import export_study, import_export, read_export
from codearena.openai_api.tokens import create_token
from codearena.store import Store
from codearena.store.api_models import ApiCall
from codearena.store.models import Generation, Task
from tests.exports.data import make_study

SECRET_PROMPT = "my private repository's code, never exported"


def _call(store: Store, token_id: str, model: str, status: str, **figures: object) -> None:
    with store.session() as session:
        task = Task(prompt=SECRET_PROMPT, prompt_style="plain", source="api")
        session.add(task)
        session.flush()
        session.add(ApiCall(task_id=task.id, token_id=token_id))
        session.add(
            Generation(
                task_id=task.id,
                model=model,
                provider="fake",
                status=status,
                text=f"{SECRET_PROMPT} answered",
                **figures,
            )
        )


def test_a_studys_api_calls_are_exported_and_summarised(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    data = make_study(store)
    other = make_study(store, name="Another study")
    token, row = create_token(store, "owner@lab.example", study=data.study_id)
    second, row2 = create_token(store, "owner@lab.example", study=data.study_id)
    _, stranger = create_token(store, "owner@lab.example", study=other.study_id)
    _call(store, row.id, "x/one", "ok", latency_ms=100.0, ttft_ms=10.0, prompt_tokens=5,
          completion_tokens=7, cost_usd=0.25)  # fmt: skip
    _call(store, row2.id, "x/one", "ok", latency_ms=300.0, ttft_ms=30.0, cost_usd=0.5)
    _call(store, row.id, "x/one", "interrupted", tokens_estimated=True, completion_tokens=3)
    _call(store, row.id, "x/two", "error", error_kind="rate_limited")
    _call(store, stranger.id, "x/two", "ok", cost_usd=9.0)

    usage = {u.model: u for u in api_usage(store, data.study_id)}
    assert list(usage) == ["x/one", "x/two"]
    one, two = usage["x/one"], usage["x/two"]
    assert (one.calls, one.ok, one.interrupted, one.failed, one.tokens) == (3, 2, 1, 0, 2)
    assert (one.prompt_tokens, one.completion_tokens, one.estimated_calls) == (5, 10, 1)
    assert (one.cost_usd, one.median_latency_ms, one.median_ttft_ms) == (0.75, 200.0, 20.0)
    assert (two.calls, two.failed, two.cost_usd, two.median_latency_ms) == (1, 1, 0.0, None)

    export_study(store, data.study_id, tmp_path / "out", "jsonl")
    _, rows = read_export(tmp_path / "out")
    calls = rows["api_calls"]
    assert [(c["model"], c["status"]) for c in calls] == [
        ("x/one", "ok"), ("x/one", "ok"), ("x/one", "interrupted"), ("x/two", "error")
    ]  # fmt: skip
    assert {c["token_id"] for c in calls} == {row.id, row2.id}
    assert calls[3]["error_kind"] == "rate_limited" and calls[0]["cost_usd"] == 0.25
    text = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    for secret in (SECRET_PROMPT, token, second, row.token_hash, "owner@lab.example"):
        assert secret not in text

    other_db = Store(f"sqlite:///{tmp_path / 'b.db'}")
    assert import_export(other_db, tmp_path / "out") == data.study_id  # the calls are left out
    assert api_usage(other_db, data.study_id) == []
    other_db.dispose()
    store.dispose()
