"""``codearena tokens``: created for an existing account, printed once, stored as a hash, never
shown again (list, logs, the database)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from codearena.cli import app
from codearena.errors import CodearenaError
from codearena.store.api_models import ApiToken
from tests.api.conftest import Server
from tests.conftest import unique

runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_create_list_and_revoke(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = cli("tokens", "create", "--user", server.email.upper(), "--budget-usd", "2",
               "--rpm", "30", "--expires", "7", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    token, token_id = created["token"], created["id"]
    assert set(created) == {"token", "id"} and token.startswith("ca-") and len(token) > 40
    with server.context.store.session() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert (row.id, row.budget_usd, row.rpm) == (token_id, 2.0, 30)
        assert row.expires_at is not None
    answer = server.sdk(token).chat.completions.create(
        model=unique("ok"), messages=[{"role": "user", "content": "ECHO:hi"}]
    )
    assert answer.choices[0].message.content == "hi"
    server.settle()  # its record (and spending) written just after the answer
    listed = cli("tokens", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["user"], entry["state"]) == (token_id, server.email, "active")
    assert entry["spent_usd"] > 0
    text = cli("tokens", "list")
    assert token_id in text.stdout
    for output in (listed.stdout, text.stdout):
        assert token not in output and token[8:] not in output
    revoked = cli("tokens", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(openai.AuthenticationError):
        server.sdk(token).models.list()
    assert json.loads(cli("tokens", "list", "--json").stdout)[0]["state"] == "revoked"
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert token not in logged
    dumped = "\n".join(
        line
        for line in server.context.store.engine.raw_connection().driver_connection.iterdump()  # type: ignore[union-attr]
    )
    assert token not in dumped


def test_a_token_for_a_study(server: Server) -> None:
    from codearena.studies.study import StudySpec, create_study

    study = create_study(
        server.context.store,
        server.context.catalog,
        StudySpec(name="api study", models=[unique("ok"), unique("ok")], mode="named"),
    )
    made = cli("tokens", "create", "--user", server.email, "--study", "api study", "--json")
    assert made.exit_code == 0, made.output
    [entry] = json.loads(cli("tokens", "list", "--json").stdout)
    assert (entry["study_id"], entry["study"]) == (study.id, "api study")


def refused(*args: str) -> str:
    """The error a command stops with (``codearena.cli.main`` prints it as one line, exit 2)."""
    result = cli(*args)
    assert isinstance(result.exception, CodearenaError), result.output
    assert result.exception.exit_code == 2
    return str(result.exception)


def test_unknown_account_study_or_token_is_a_clear_error(server: Server) -> None:
    missing = refused("tokens", "create", "--user", "nobody@example.org")
    assert "no web account with email 'nobody@example.org'" in missing
    assert "codearena users create" in missing
    assert "no study" in refused("tokens", "create", "--user", server.email, "--study", "nope")
    assert "no API token with id '0123'" in refused("tokens", "revoke", "0123")
    assert "--rpm" in refused("tokens", "create", "--user", server.email, "--rpm", "0")
    assert json.loads(cli("tokens", "list", "--json").stdout) == []


def test_the_token_is_not_in_the_access_log(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="codearena.access")
    token, _ = server.token()
    response = httpx.get(f"{server.v1}/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    server.settle()
    [line] = [r.getMessage() for r in caplog.records if "access" in r.name]  # ours alone
    assert line.endswith('"GET /v1/models HTTP/1.1" 200')  # the request is in the log...
    assert token not in caplog.text  # ...its token is not


def test_a_study_token_counts_in_the_study_spend_and_stops_at_its_cap(server: Server) -> None:
    from codearena.store.platform_models import Study
    from codearena.studies.study import StudySpec, create_study, set_status, spend_view

    spec = StudySpec(name="api study", models=[unique("ok"), unique("ok")], spend_cap_usd=1.0)
    study = create_study(server.context.store, server.context.catalog, spec)
    token, _ = server.token(study=study.id)
    client = server.sdk(token)
    client.chat.completions.create(model=unique("ok"), messages=[{"role": "user", "content": "hi"}])
    server.settle()
    view = spend_view(server.context.store, study)
    assert view["api_spent_usd"] is not None and view["api_spent_usd"] > 0
    assert view["spent_usd"] == view["api_spent_usd"]  # the study has no task of its own yet
    with server.context.store.session() as session:
        row = session.get(Study, study.id)
        assert row is not None
        row.spend_cap_usd = view["spent_usd"]  # reached
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(
            model=unique("ok"), messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.status_code == 402
    assert refused.value.body["code"] == "study_spend_cap"  # type: ignore[index]
    set_status(server.context.store, study.id, "closed")
    with pytest.raises(openai.PermissionDeniedError) as closed:
        client.models.list()
    assert closed.value.body["code"] == "study_closed"  # type: ignore[index]
    other, _ = server.token()  # a token without a study is not affected
    assert server.sdk(other).models.list().data


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_in_use_is_read_again_while_its_call_waits(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a token used more often than its cache window is read again while a call waits for
    # its upstream, not in a request's own time: a revocation by another process reaches
    # the next request after that read, before the window of the first read has ended
    tokens = server.app.state.openai_api.tokens
    clock = _Clock()
    monkeypatch.setattr(tokens, "_clock", clock)
    refreshed: list[str] = []
    real = tokens.refresh

    def refresh(key: str) -> None:
        refreshed.append(key)
        real(key)

    monkeypatch.setattr(tokens, "refresh", refresh)
    token, token_id = server.token()
    sdk = server.sdk(token)
    messages = [{"role": "user", "content": "ECHO:hi"}]
    sdk.chat.completions.create(model=unique("ok"), messages=messages)  # read at 0
    server.settle()
    assert refreshed == []
    with server.context.store.session() as session:  # revoked by another process
        row = session.get(ApiToken, token_id)
        assert row is not None
        row.revoked_at = datetime.now(UTC)
    clock.now = 3.0
    answer = sdk.chat.completions.create(model=unique("ok"), messages=messages)
    assert answer.choices[0].message.content == "hi"  # the row read at 0 serves until 5
    server.settle()
    assert len(refreshed) == 1  # read again during that call
    clock.now = 3.1
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        sdk.chat.completions.create(model=unique("ok"), messages=messages)
