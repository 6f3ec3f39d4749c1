"""The writer of the endpoint's records (many calls to a transaction) and the tokens' cache,
against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from codearena.gateway import CallResult
from codearena.openai_api import calls
from codearena.openai_api import writer as call_writer
from codearena.openai_api.errors import ApiError
from codearena.openai_api.tokens import Caller, TokenCache, create_token, revoke_token
from codearena.openai_api.writer import CallWriter
from codearena.store import Generation, Store
from codearena.store.api_models import ApiCall, ApiToken
from codearena.web.auth import create_user

ROUTE: Any = SimpleNamespace(
    model=SimpleNamespace(label="Fake"), provider=SimpleNamespace(name="openrouter")
)


@pytest.fixture
def store(database_url: str) -> Any:
    store = Store(database_url)
    yield store
    store.dispose()


def _token(store: Store, **limits: Any) -> tuple[str, Caller]:
    create_user(store, "writer@example.org", "researcher", "correct horse battery")
    token, row = create_token(store, "writer@example.org", **limits)
    return token, Caller(row.id, row.user_id, None, None)


def _open(caller: Caller) -> tuple[calls.StoredCall, calls.Record]:
    messages = [{"role": "user", "content": "hi"}]
    return calls.open_call(
        caller, prompt="hi", messages=messages, temperature=None, model="m", route=ROUTE
    )


def test_every_call_is_recorded_and_a_bad_record_fails_alone(store: Store) -> None:
    _, caller = _token(store)
    stranger = Caller("no-such-token", caller.user_id, None, None)
    writer = CallWriter(store)
    assert writer.in_loop == (store.engine.dialect.name == "sqlite")  # PostgreSQL: a thread
    opened = [_open(caller) for _ in range(40)]
    _, bad = _open(stranger)  # its api_calls row breaks the foreign key

    async def run() -> list[BaseException | None]:
        records = [writer.write(record) for _, record in opened]
        return await asyncio.gather(*records, writer.write(bad), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert outcomes[:-1] == [None] * 40
    assert isinstance(outcomes[-1], Exception)
    result = CallResult("m", "openrouter", status="ok", text="done", cost_usd=0.5)

    async def write(record: calls.Record) -> None:
        await writer.write(record)

    asyncio.run(write(calls.finish_call(caller, opened[0][0], result)))
    asyncio.run(write(calls.interrupt_call(opened[1][0], "par")))
    asyncio.run(write(calls.interrupt_call(opened[0][0], "late")))  # finished: kept
    writer.close()
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ApiCall)) == 40
        rows = {g.id: g for g in session.scalars(select(Generation))}
        finished, interrupted = rows[opened[0][0].generation_id], rows[opened[1][0].generation_id]
        assert (finished.status, finished.text, finished.tool_calls) == ("ok", "done", None)
        assert (interrupted.status, interrupted.text) == ("interrupted", "par")
        assert sum(g.status == "pending" for g in rows.values()) == 38
        token = session.get(ApiToken, caller.token_id)
        assert token is not None and token.spent_usd == pytest.approx(0.5)


def _statuses(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.scalars(select(Generation.status)))


def test_records_written_later_wait_for_their_window_and_share_a_transaction(
    store: Store,
) -> None:
    _, caller = _token(store)
    writer = CallWriter(store)
    opened = [_open(caller) for _ in range(4)]
    result = CallResult("m", "openrouter", status="ok", text="done", cost_usd=0.25)

    async def run() -> None:
        await asyncio.gather(*(writer.write(record) for _, record in opened))
        before = writer.batches
        later = [
            asyncio.ensure_future(writer.write(calls.finish_call(caller, s, result), later=True))
            for s, _ in opened[:2]
        ]
        for _ in range(5):  # turns of the loop: a record not written later commits in one
            await asyncio.sleep(0)
        await asyncio.to_thread(lambda: None)  # and a thread's
        assert not any(write.done() for write in later)
        assert _statuses(store) == ["pending"] * 4
        later += [  # arriving within the window: written with the first ones
            asyncio.ensure_future(writer.write(calls.finish_call(caller, s, result), later=True))
            for s, _ in opened[2:]
        ]
        await asyncio.gather(*later)
        if writer.in_loop:
            assert writer.batches == before + 1
        assert _statuses(store) == ["ok"] * 4

    asyncio.run(run())
    writer.close()
    with store.session() as session:
        token = session.get(ApiToken, caller.token_id)
        assert token is not None and token.spent_usd == pytest.approx(1.0)


def test_records_in_their_window_are_written_when_the_writer_closes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_writer, "LATER_S", 60.0)  # not by the window's end
    _, caller = _token(store)
    writer = CallWriter(store)
    stored, record = _open(caller)
    result = CallResult("m", "openrouter", status="ok", text="done")

    async def run() -> None:
        await writer.write(record)
        later = asyncio.ensure_future(
            writer.write(calls.finish_call(caller, stored, result), later=True)
        )
        await asyncio.sleep(0)
        await writer.aclose()  # the app stopping within the record's window
        assert _statuses(store) == ["ok"]  # written by the time it has closed
        await later

    asyncio.run(run())
    assert _statuses(store) == ["ok"]
    writer.close()


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Any:
    store = Store(f"sqlite:///{tmp_path / 'loop.db'}")
    yield store
    store.dispose()


def _pending(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ApiCall)) or 0


def test_sqlite_records_of_one_turn_of_the_loop_commit_in_one_transaction_without_a_thread(
    sqlite_store: Store,
) -> None:
    _, caller = _token(sqlite_store)
    writer = CallWriter(sqlite_store)

    async def run() -> None:
        await asyncio.gather(*(writer.write(_open(caller)[1]) for _ in range(30)))
        await writer.write(_open(caller)[1])  # a later turn: a transaction of its own

    asyncio.run(run())
    assert (writer.batches, writer._thread) == (2, None)
    assert _pending(sqlite_store) == 31
    with sqlite_store.engine.connect() as other:  # the writer's settings stay on its connection
        assert other.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert other.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    writer.close()


def test_sqlite_a_batch_that_finds_the_lock_taken_waits_in_the_thread_not_in_the_loop(
    sqlite_store: Store,
) -> None:
    _, caller = _token(sqlite_store)
    writer = CallWriter(sqlite_store)
    path = sqlite_store.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's lock

    async def run() -> None:
        write = asyncio.ensure_future(writer.write(_open(caller)[1]))
        for _ in range(20):  # the loop goes on turning while the lock is held
            await asyncio.sleep(0)
        assert not write.done()
        holder.execute("COMMIT")
        await write

    asyncio.run(run())
    holder.close()
    assert writer._thread is not None and _pending(sqlite_store) == 1
    writer.close()


def test_sqlite_checkpoints_run_off_the_loop(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_writer, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(call_writer, "CHECKPOINT_AFTER_RECORDS", 3)
    _, caller = _token(sqlite_store)
    writer = CallWriter(sqlite_store)

    async def run() -> None:
        await writer.write(_open(caller)[1])
        await writer.write(_open(caller)[1])
        await asyncio.sleep(0.1)
        assert writer.checkpoints == 0  # two records since the start: none yet
        await writer.write(_open(caller)[1])
        for _ in range(500):  # the worker thread's checkpoint
            if writer.checkpoints:
                return
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert writer.checkpoints == 1
    assert writer._own is not None
    assert writer._own.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    assert writer._own.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0  # never waits
    writer.close()
    assert writer.checkpoints == 2  # closing checkpoints what is left


def test_sqlite_closed_from_the_loop_the_writer_hands_later_records_to_its_thread(
    sqlite_store: Store,
) -> None:
    _, caller = _token(sqlite_store)
    writer = CallWriter(sqlite_store)

    async def run() -> None:
        await writer.write(_open(caller)[1])
        own = writer._own
        await writer.aclose()
        assert own is not None and own.closed and writer._own is None
        assert writer.checkpoints == 1
        await writer.write(_open(caller)[1])  # during shutdown: written all the same

    asyncio.run(run())
    assert writer._thread is not None and writer._own is None
    assert _pending(sqlite_store) == 2
    writer.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _auth(cache: TokenCache, token: str) -> Caller:
    caller, key = cache.lookup(token)
    return caller if caller is not None else cache.load(key)


def test_the_cache_honours_revocation_within_its_window_and_expiry_at_once(
    store: Store,
) -> None:
    token, caller = _token(store, budget_usd=1.0)
    clock = Clock()
    cache = TokenCache(store, ttl=5.0, clock=clock)
    assert _auth(cache, token) == Caller(caller.token_id, caller.user_id, None, None)
    with store.session() as session:  # revoked by another process
        row = session.get(ApiToken, caller.token_id)
        assert row is not None
        row.revoked_at = datetime.now(UTC)
    assert cache.lookup(token)[0] is not None  # within the window
    clock.now = 5.0
    with pytest.raises(ApiError) as revoked:
        _auth(cache, token)
    assert revoked.value.status == 401

    other, other_caller = create_token(store, "writer@example.org", budget_usd=1.0)
    _auth(cache, other)
    cache.spent(other_caller.id, 1.0)  # this process's calls count at once
    with pytest.raises(ApiError) as spent:
        _auth(cache, other)
    assert spent.value.status == 402

    third, third_row = create_token(store, "writer@example.org")
    _auth(cache, third)
    revoke_token(store, third_row.id)  # in this process: at once
    with pytest.raises(ApiError, match="revoked"):
        _auth(cache, third)

    expiring, expiring_row = create_token(store, "writer@example.org", expires_days=1)
    _auth(cache, expiring)
    for cached in cache._rows.values():  # the cached row reaches its expiry
        if cached.row.id == expiring_row.id:
            cached.row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(ApiError, match="expired"):
        _auth(cache, expiring)


def test_a_spend_not_yet_recorded_survives_the_tokens_row_read_again(store: Store) -> None:
    # a call's cost counts before its answer goes out, and its record adds it to the row
    # just after: a row read again in between (its window ended) must not forget it
    token, caller = _token(store, budget_usd=2.0)
    clock = Clock()
    cache = TokenCache(store, ttl=5.0, clock=clock)
    _auth(cache, token)
    cache.spent(caller.token_id, 0.6)
    clock.now = 5.0  # read again from the database, which does not have the 0.6 yet
    _auth(cache, token)
    cache.spent(caller.token_id, 0.9)
    _auth(cache, token)  # 1.5 of 2.0
    cache.spent(caller.token_id, 0.6)  # 2.1: over (1.5 had the first 0.6 been forgotten)
    with pytest.raises(ApiError) as over:
        _auth(cache, token)
    assert over.value.status == 402
    with store.session() as session:  # two of the three records written
        row = session.get(ApiToken, caller.token_id)
        assert row is not None
        row.spent_usd = 1.5
    cache.recorded(caller.token_id, 0.6)
    cache.recorded(caller.token_id, 0.9)
    clock.now = 10.0
    with pytest.raises(ApiError):  # 1.5 from the row, the unrecorded 0.6 added once
        _auth(cache, token)
    (cached,) = cache._rows.values()
    assert cached.row.spent_usd == pytest.approx(2.1)


def test_a_token_in_use_is_read_again_ahead_of_its_window(store: Store) -> None:
    # past half its window a cached row is due: read again (in the endpoint, while a call
    # waits for its upstream) it brings what other processes changed, and the row served is
    # never older than its window
    token, caller = _token(store)
    clock = Clock()
    cache = TokenCache(store, ttl=5.0, clock=clock)
    _auth(cache, token)
    clock.now = 2.0
    assert cache.due(caller.token_id) is None  # fresh
    clock.now = 2.6
    key = cache.due(caller.token_id)
    assert key is not None and cache.due(caller.token_id) is None  # one read at a time
    with store.session() as session:  # revoked by another process
        row = session.get(ApiToken, caller.token_id)
        assert row is not None
        row.revoked_at = datetime.now(UTC)
    assert cache.lookup(token)[0] is not None  # the row read at 0 still serves
    cache.refresh(key)
    with pytest.raises(ApiError, match="revoked"):  # at 2.6, not at 5
        cache.lookup(token)
    clock.now = 5.5  # read at 2.6: still within its window
    with pytest.raises(ApiError, match="revoked"):
        cache.lookup(token)
    assert cache.due(caller.token_id) == key  # and due again

    gone, gone_row = create_token(store, "writer@example.org")
    _auth(cache, gone)
    clock.now = 8.1
    gone_key = cache.due(gone_row.id)
    assert gone_key is not None
    with store.session() as session:  # deleted by another process
        row = session.get(ApiToken, gone_row.id)
        assert row is not None
        session.delete(row)
    cache.refresh(gone_key)
    assert cache.lookup(gone)[0] is None  # no longer cached: its next request reads it
    with pytest.raises(ApiError, match="invalid API token"):
        _auth(cache, gone)
