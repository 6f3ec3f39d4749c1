"""The ``codearena`` command, run in-process through its real entry point."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from codearena.cli import main
from codearena.testing.fake_upstream import FakeUpstream
from tests.conftest import SECRET, unique


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``codearena ARGS``; returns (exit status, stdout, stderr)."""
    old = sys.argv
    sys.argv = ["codearena", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_info_masks_the_database_password_and_never_prints_keys(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEARENA_DATABASE_URL", "postgresql://arena:hunter2@db.example:5432/arena")
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["database_url"] == "postgresql://arena:***@db.example:5432/arena"
    assert data["version"] and data["config_file"] is None
    configured = {p["name"]: p["configured"] for p in data["providers"]}
    assert {n: configured[n] for n in ("openrouter", "openai", "ollama")} == {
        "openrouter": True,
        "openai": False,
        "ollama": True,
    }
    status = {p["name"]: p["status"] for p in data["providers"]}
    assert status["ollama"] == "unreachable", "nothing listens at OLLAMA_HOST in the tests"
    code, text, _ = run(capsys, "info")
    assert "hunter2" not in out + text and SECRET not in out + text
    assert "missing key: set OPENAI_API_KEY" in text


def test_models_lists_the_study_preset_with_status(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY")
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    study = [r for r in rows if "study-2025" in r["presets"]]
    assert [r["label"] for r in study] == [
        "GPT 3.5 Turbo",
        "GPT 4",
        "GPT 4 Turbo",
        "GPT 4o",
        "Gemini 1.5 Flash-8B",
        "Llama 3.2 3B Instruct",
        "Mixtral 8x7B Instruct",
    ]
    assert {r["id"] for r in study} >= {"openai/gpt-4-turbo", "openai/chatgpt-4o-latest"}
    assert all({"id", "label", "provider", "status"} <= r.keys() for r in rows)
    assert {r["status"] for r in study} == {"missing key: set OPENROUTER_API_KEY"}
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    _, out, _ = run(capsys, "models", "--json")
    assert {r["status"] for r in json.loads(out) if "study-2025" in r["presets"]} == {"ready"}


def test_models_sync_stores_prices_and_context(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "models", "sync")
    assert code == 0 and "synced" in out
    _, out, _ = run(capsys, "models", "--json")
    gpt4 = next(r for r in json.loads(out) if r["id"] == "openai/gpt-4")
    listing = next(m for m in FakeUpstream().models_listing if m["id"] == "openai/gpt-4")
    assert gpt4["label"] == "GPT 4", "the preset label survives a sync"
    assert gpt4["price_input_per_m"] == pytest.approx(float(listing["pricing"]["prompt"]) * 1e6)
    assert gpt4["price_output_per_m"] == pytest.approx(
        float(listing["pricing"]["completion"]) * 1e6
    )
    assert gpt4["context_length"] == listing["context_length"]
    assert any(r["id"] == "anthropic/claude-3.5-sonnet" for r in json.loads(out))


def test_ollama_models_are_listed_when_the_server_answers(
    env: Path,
    fake: FakeUpstream,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake.root_url)
    _, out, _ = run(capsys, "models", "--json")
    local = [r for r in json.loads(out) if r["provider"] == "ollama"]
    assert {r["id"] for r in local} >= {"ollama:qwen2.5-coder:7b"}
    assert {r["status"] for r in local} == {"ready"}


def test_declared_local_model_is_unreachable_without_server(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "codearena.toml").write_text('[[models]]\nid = "ollama:mine:1b"\nlabel = "Mine"\n')
    _, out, _ = run(capsys, "models", "--json")
    mine = next(r for r in json.loads(out) if r["id"] == "ollama:mine:1b")
    assert mine["status"] == "unreachable"


def test_generate_json_shape_and_history(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = unique("ok")
    code, out, _ = run(
        capsys,
        "generate",
        "Write add(a, b)",
        "-m",
        ok,
        "-m",
        "openai:gpt-4o",
        "--tone",
        "direct",
        "--language",
        "Python",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"task_id", "results"}
    first, second = data["results"]
    for key in (
        "model",
        "status",
        "text",
        "code",
        "ttft_ms",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "error",
    ):
        assert key in first
    assert first["model"] == ok and first["status"] == "ok" and first["error"] is None
    assert first["code"] == [{"language": "python", "source": "def add(a, b):\n    return a + b"}]
    assert second["status"] == "error" and second["error"] == "missing key: set OPENAI_API_KEY"
    code, out, _ = run(capsys, "history", "--json")
    tasks = json.loads(out)
    assert tasks[0]["task_id"] == data["task_id"] and tasks[0]["tone"] == "Direct"
    assert [g["model"] for g in tasks[0]["generations"]] == [ok, "openai:gpt-4o"]
    code, out, _ = run(capsys, "history")
    assert code == 0 and data["task_id"][:12] in out


def test_generate_prints_answers_for_people(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", "Write add", "-m", unique("ok"))
    assert code == 0 and "def add(a, b):" in out and "ttft" in out and "stored" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "-m", "openai/gpt-4"], "task is empty"),
        (["x" * 100_001, "-m", "openai/gpt-4"], "limit is 100,000"),
        (["task", "-m", "openai/gpt4o"], "Did you mean"),
        (["task", "-m", "openai/gpt-4", "--tone", "angry"], "Professional"),
    ],
)
def test_generate_bad_input_exits_2_with_a_message(
    env: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "generate", *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    _, out, _ = run(capsys, "history", "--json")
    assert json.loads(out) == []


def test_unknown_model_suggests_close_matches(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = run(capsys, "generate", "task", "-m", "openai/gpt4o")
    assert "openai/gpt-4" in err and "openrouter:openai/gpt4o" in err


def test_invalid_config_names_file_line_and_key(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = env / "codearena.toml"
    config.write_text("[gateway]\nconnect_timeout = 5\nfirst_token_timout = 3\n")
    code, _, err = run(capsys, "info")
    assert code == 2 and str(config) in err and "line 3" in err and "first_token_timout" in err
    config.write_text('[providers.vllm]\nbase_url = "http://127.0.0.1:8001/v1"\napi_key = "sk-x"\n')
    code, _, err = run(capsys, "info")
    assert code == 2 and "line 3" in err and "api_key_env" in err and "sk-x" not in err
    config.write_text("[gateway\n")
    code, _, err = run(capsys, "info")
    assert code == 2 and "invalid TOML" in err and "line 1" in err


def test_custom_provider_from_config(
    env: Path,
    fake: FakeUpstream,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VLLM_KEY", "vllm-secret")
    (env / "codearena.toml").write_text(
        f'[providers.vllm]\nbase_url = "{fake.root_url}/v1"\napi_key_env = "VLLM_KEY"\n'
        'headers = { "X-Team" = "ml" }\n'
    )
    code, out, _ = run(
        capsys, "generate", "ECHO: hi", "--plain", "-m", "vllm:qwen-coder-ok", "--json"
    )
    assert code == 0
    assert json.loads(out)["results"][0]["text"] == "hi"
    sent = [r for r in fake.requests if r.body and r.body.get("model") == "qwen-coder-ok"][-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer vllm-secret" and sent.headers["x-team"] == "ml"
    assert sent.body is not None and sent.body["messages"] == [
        {"role": "user", "content": "ECHO: hi"}
    ]


def test_key_from_a_0600_file_only(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY")
    key_file = env / "key"
    key_file.write_text(SECRET + "\n")
    key_file.chmod(0o644)
    monkeypatch.setenv("OPENROUTER_API_KEY_FILE", str(key_file))
    code, _, err = run(capsys, "generate", "t", "-m", unique("ok"), "--json")
    assert code == 2 and "chmod 600" in err
    key_file.chmod(0o600)
    code, out, _ = run(capsys, "generate", "t", "-m", unique("ok"), "--json")
    assert code == 0 and json.loads(out)["results"][0]["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_response(conn: socket.socket) -> bytes:
    """One whole HTTP/1.1 response with a Content-Length (its head and body may come apart)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data  # closed by the server
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_serve_starts_without_any_key_and_says_how_to_add_one(env: Path) -> None:
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "codearena", "serve", "--port", str(port)],
        env=environ,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("codearena serve did not answer /healthz")
        assert response.status_code == 200 and response.json()["database"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert "OPENROUTER_API_KEY" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        # the endpoint on the server's own loop and parser (uvloop, httptools)
        denied = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={})
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "invalid_api_key"
        # an idle connection outlives uvicorn's default keep-alive (5 s): clients that keep
        # theirs 5 s never race the server's close
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            ask = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
            answers = []
            for wait in (0.0, 6.0):
                time.sleep(wait)
                conn.sendall(ask)
                answers.append(_one_response(conn))
            assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert "export OPENROUTER_API_KEY" in stderr


def test_serve_freezes_the_start_up_heap_and_collects_the_young_generation_less_often() -> None:
    # in a process of its own: the collector's settings are process-wide
    script = (
        "import gc, json\n"
        "from codearena.cli.serve import tune_garbage_collector\n"
        "before = gc.get_freeze_count()\n"
        "tune_garbage_collector()\n"
        "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    before, frozen, threshold = json.loads(done.stdout)
    assert before == 0 and frozen > 1000  # the modules and objects start-up made
    assert threshold[0] == 50_000 and threshold[1] >= 20


def test_generate_runs_every_answer_against_tests(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = env / "test_add.py"
    tests.write_text("from solution import add\n\ndef test_add():\n    assert add(2, 2) == 4\n")
    ok, broken = unique("ok"), unique("error-401")
    code, out, _ = run(
        capsys, "generate", "Write add", "-m", ok, "-m", broken, "--tests", str(tests), "--json"
    )
    assert code == 0
    first, second = json.loads(out)["results"]
    assert first["execution"]["verdict"] == "passed" and first["execution"]["backend"] == "bwrap"
    assert (first["execution"]["tests_passed"], first["execution"]["tests_total"]) == (1, 1)
    assert second["execution"] is None
    _, out, _ = run(capsys, "history", "--json")
    assert json.loads(out)[0]["generations"][0]["status"] == "ok"


def test_generate_run_without_tests_is_ran_not_passed(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "generate", "Write add", "-m", unique("ok"), "--run", "--json")
    assert code == 0
    execution = json.loads(out)["results"][0]["execution"]
    assert (execution["verdict"], execution["exit_code"]) == ("ran", 0)
    assert (execution["tests_passed"], execution["tests_total"]) == (None, None)
    code, out, _ = run(capsys, "generate", "Write add", "-m", unique("ok"), "--run")
    assert code == 0 and "run: ran," in out


def test_generate_backend_per_command(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--backend`` picks the sandbox for this command only (gVisor here; bwrap by default)."""
    tests = env / "test_add.py"
    tests.write_text("from solution import add\n\ndef test_add():\n    assert add(2, 2) == 4\n")
    args = ("generate", "Write add", "-m", unique("ok"), "--tests", str(tests), "--json")
    code, out, _ = run(capsys, *args, "--backend", "gvisor")
    assert code == 0
    execution = json.loads(out)["results"][0]["execution"]
    assert (execution["backend"], execution["verdict"]) == ("gvisor", "passed")
    code, out, err = run(capsys, *args, "--backend", "nope")
    assert code == 2 and "unknown sandbox backend" in out + err


def test_generate_with_examples_and_failing_answer(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = env / "examples.json"
    examples.write_text(
        json.dumps([{"stdin": "abc\n", "stdout": "cba\n"}, {"stdin": "x\n", "stdout": "x\n"}])
    )
    task = "ECHO: ```python\nprint(input())\n```"
    code, out, _ = run(
        capsys,
        "generate",
        task,
        "--plain",
        "-m",
        unique("ok"),
        "--examples",
        str(examples),
        "--json",
    )
    execution = json.loads(out)["results"][0]["execution"]
    assert code == 0 and execution["verdict"] == "failed"
    assert (execution["tests_passed"], execution["tests_total"]) == (1, 2)
    examples.write_text("{not json")
    code, _, err = run(capsys, "generate", "t", "-m", unique("ok"), "--examples", str(examples))
    assert code == 2 and "stdin" in err


def test_the_cli_starts_without_the_heavy_stacks() -> None:
    """``codearena --help`` must not pay for numpy, scipy, matplotlib or the web stack."""
    probe = (
        "import sys, codearena.cli; "
        "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
