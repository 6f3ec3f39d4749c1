"""``codearena stress``: the ramp, the summary of a level, and end to end against a loopback
server whose model refuses calls above a concurrency level (``server.CappedUpstream``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from codearena.experiments.common import error_class
from codearena.experiments.stress import (
    Outcome,
    StressRequest,
    failure_threshold,
    levels,
    summarize_level,
)
from codearena.pipeline import InputError
from codearena.store import Generation, Store, Task
from tests.experiments.server import CappedUpstream
from tests.test_cli import run


def test_levels_of_a_ramp() -> None:
    assert levels(2, 3, 11) == [2, 5, 8, 11]
    assert levels(1, 4, 10) == [1, 5, 9]
    assert levels(5, 1, 5) == [5]


def test_gateway_error_kinds_in_classes() -> None:
    assert [error_class(k) for k in ("rate_limited", "unavailable", "timeout",
            "first_token_timeout", "connect", "cut", "auth", None)] == [
        "429", "5xx", "timeout", "timeout", "connection", "connection", "other", "other"
    ]  # fmt: skip


def test_summary_of_a_level_and_the_failure_threshold() -> None:
    ok = [Outcome("ok", None, 100.0 + i, 50.0) for i in range(18)]
    bad = [Outcome("error", "rate_limited", 5.0, None), Outcome("error", "timeout", 300.0, None)]
    row = summarize_level(4, ok + bad, 2.0)
    assert row["concurrency"] == 4 and row["requests"] == 20 and row["ok"] == 18
    assert row["completed_per_s"] == 9.0 and row["error_rate"] == 0.1
    assert row["errors"] == {"rate_limited": 1, "timeout": 1}
    assert row["error_classes"] == {"429": 1, "5xx": 0, "timeout": 1, "connection": 0, "other": 0}
    assert row["latency_ms"]["median"] == pytest.approx(108.5)  # the successful calls only
    rows = [
        {"concurrency": 1, "error_rate": 0.0},
        {"concurrency": 2, "error_rate": 0.05},  # at the threshold: not above it
        {"concurrency": 3, "error_rate": 0.2},
        {"concurrency": 4, "error_rate": 0.9},
    ]
    assert failure_threshold(rows, 0.05) == 3
    assert failure_threshold(rows, 0.95) is None
    assert summarize_level(1, [], 1.0)["error_rate"] is None


def test_the_request_states_its_bounds() -> None:
    with pytest.raises(InputError, match="at least --start"):
        StressRequest(("m",), start=4, max=2).validate()
    with pytest.raises(InputError, match="calls in flight"):
        StressRequest(("a", "b", "c"), max=100).validate()
    with pytest.raises(InputError, match="--duration"):
        StressRequest(("m",), duration=601).validate()
    with pytest.raises(InputError, match="--max-error-rate"):
        StressRequest(("m",), max_error_rate=5).validate()


@pytest.fixture
def capped(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CappedUpstream]:
    with CappedUpstream() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield server


def test_the_failure_threshold_is_the_first_level_above_the_cap(
    env: Path, capped: CappedUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "stress", "-m", "openai:cap-2", "-m", "openai:free", "--start", "1", "--step",
        "1", "--max", "4", "--duration", "0.5", "--max-requests", "3000", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"models", "warnings", "run"}
    capped_model, free = data["models"]
    assert capped_model["model"] == "openai:cap-2" and free["model"] == "openai:free"
    assert capped_model["failure_threshold"] == 3
    # the capped model leaves the ramp after its failing level; the other one goes on
    assert [row["concurrency"] for row in capped_model["levels"]] == [1, 2, 3]
    assert [row["concurrency"] for row in free["levels"]] == [1, 2, 3, 4]
    assert free["failure_threshold"] is None
    for row in capped_model["levels"][:2] + free["levels"]:
        assert row["error_rate"] == 0.0 and row["errors"] == {} and row["ok"] == row["requests"]
        assert row["completed_per_s"] > 0 and row["latency_ms"]["median"] > 0
    failing = capped_model["levels"][2]
    assert failing["error_rate"] > 0.05 and set(failing["errors"]) == {"rate_limited"}
    assert failing["error_classes"]["429"] == failing["requests"] - failing["ok"]
    assert capped.peak["cap-2"] == 2 and capped.peak["free"] == 4
    info = data["run"]
    assert info["levels"] == [1, 2, 3, 4] and info["stopped"] is None
    assert info["requests"] == sum(r["requests"] for m in data["models"] for r in m["levels"])
    store = Store(f"sqlite:///{env / 'home' / 'codearena.db'}")
    with store.session() as session:
        task = session.scalars(select(Task).where(Task.category == info["category"])).one()
        generations = list(session.scalars(select(Generation).where(Generation.task_id == task.id)))
    assert task.source == "stress" and task.id == info["task_id"]
    assert len(generations) == info["requests"]
    kinds = Counter(g.error_kind for g in generations if g.model == "openai:cap-2")
    assert kinds["rate_limited"] == failing["requests"] - failing["ok"]


def test_the_request_bound_stops_the_ramp(
    env: Path, capped: CappedUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["stress", "-m", "openai:free", "--start", "2", "--step", "2", "--max", "6",
            "--duration", "5", "--max-requests", "5"]  # fmt: skip
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    (model,) = data["models"]
    # the bound is reached during the first level, long before its 5 s are up: the ramp ends
    assert [row["concurrency"] for row in model["levels"]] == [2]
    assert [row["truncated"] for row in model["levels"]] == [True]
    assert sum(row["requests"] for row in model["levels"]) == 5 == data["run"]["requests"]
    assert data["run"]["stopped"] == "the request bound (5) was reached"
    assert data["warnings"] == ["the ramp stopped early: the request bound (5) was reached"]
    assert model["failure_threshold"] is None
    code, out, err = run(capsys, *args)
    assert code == 0 and "failure threshold: none" in out and "request bound (5)" in err
    assert capped.served["free"] == 10  # what reached the server: 5 calls per run


def test_a_model_of_an_unconfigured_provider_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "stress", "-m", "openai:gpt-4o", "--duration", "1", "--json")
    assert code == 2 and out == ""
    assert "provider 'openai', which is not configured" in err and "OPENAI_API_KEY" in err
    code, _, err = run(capsys, "stress", "-m", "ollama:llama3.2:3b", "--duration", "1")
    assert code == 2 and "'ollama'" in err and "unreachable" in err
    code, _, err = run(capsys, "stress", "-m", "openai:x", "--start", "5", "--max", "2")
    assert code == 2 and "--max (2) must be at least --start (5)" in err
