"""The writer of the endpoint's records, many calls to a transaction.

A request hands its record to :meth:`CallWriter.write` and awaits the future it returns: the
writer takes everything that is waiting (up to :data:`MAX_BATCH` records) and writes it in one
transaction, and each awaiting request resumes once that transaction has committed, exactly as
with one transaction per record, but under load one commit serves many calls. There is no
timer: an idle writer writes at once.

Where the transaction runs depends on the database:

- **SQLite**: in the event loop, once per turn of the loop, for every record that arrived in
  that turn, on a connection of the writer's own. The work is CPU (about 0.2 ms per record, no
  ``fsync``: WAL with ``synchronous=NORMAL``), and in a thread it took six times as long as it
  worked: the thread gives up the GIL at every SQLite call and waits for the busy loop to hand
  it back (at 500 calls/s a 6 ms commit took 35 ms, up to 220 ms, and every call waited for two
  of them; BENCHMARKS.md). The loop never waits for SQLite's lock: its connection has no busy
  timeout, and a batch that finds another writer holding the lock goes to the writer thread,
  which waits for it. WAL checkpoints (copying the log into the database file, with an
  ``fsync``) are taken off the loop too: the writer's connection does not checkpoint, and at
  most once every :data:`CHECKPOINT_EVERY_S` a passive checkpoint runs in a worker thread.
- **PostgreSQL** (and any other server): in the writer thread, which spends its transactions
  waiting on the server.

A record that nobody waits for (a finished call's, written after its answer has gone) is
written :data:`LATER_S` after it arrives, with every other such record that arrived in that
window: it then does not take the loop (or, in a thread, the GIL) at the moment the client's
next request arrives, and under load more records share a transaction.

If a batch's transaction fails, each of its records is written again in a transaction of its
own (in the writer thread), so a bad record fails only its own request (with the database's
exception) and never the others. Records of one batch are written in the order of their kinds
(inserts, then updates), and a request submits a call's next record only once the previous one
has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, Update, bindparam, insert, null, update

from codearena.store import Generation, Store, Task
from codearena.store.api_models import ApiCall, ApiToken

MAX_BATCH = 256
"""At most this many records in one transaction."""
LATER_S = 0.02
"""A record written ``later`` waits this long (with the others that arrive meanwhile)."""
CHECKPOINT_EVERY_S = 1.0
"""SQLite: at most one WAL checkpoint (in a worker thread) per this many seconds of writing..."""
CHECKPOINT_AFTER_RECORDS = 200
"""...and only once this many records have been written since the last one (SQLite's own
default is a checkpoint per 1,000 pages of log; a call's records write a few dozen): at a few
calls a second, a checkpoint per call took the GIL in the middle of the next request."""
_log = logging.getLogger(__name__)
TASKS = cast(Table, Task.__table__)
API_CALLS = cast(Table, ApiCall.__table__)
GENERATIONS = cast(Table, Generation.__table__)
TOKENS = cast(Table, ApiToken.__table__)


@dataclass
class Batch:
    """The rows of the records of one transaction, grouped to be written with one statement
    per kind (``executemany``)."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    api_calls: list[dict[str, Any]] = field(default_factory=list)
    generations: list[dict[str, Any]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)  # generation rows by id
    interrupted: list[dict[str, Any]] = field(default_factory=list)  # only if still pending
    spent: dict[str, float] = field(default_factory=dict)  # token id -> USD to add

    @classmethod
    def of(cls, records: Iterable[Record]) -> Batch:
        batch = cls()
        for record in records:
            record(batch)
        return batch

    def write(self, connection: Connection) -> None:
        for statement, rows in (
            (_INSERT_TASKS, self.tasks),
            (_INSERT_API_CALLS, self.api_calls),
            (_INSERT_GENERATIONS, self.generations),
        ):
            if rows:
                connection.execute(statement, rows)
        if self.finished:
            self._write_finished(connection)
        if self.interrupted:
            connection.execute(_interrupt_statement(tuple(self.interrupted[0])), self.interrupted)
        if self.spent:
            rows = [{"token": token, "usd": usd} for token, usd in self.spent.items()]
            connection.execute(_SPEND, rows)

    def _write_finished(self, connection: Connection) -> None:
        """One ``executemany`` UPDATE by id for the rows with tool calls, one for the rest,
        whose ``tool_calls`` is SQL NULL (as the ORM writes ``None``), not JSON ``null``."""
        done = 0
        for with_tools in (True, False):
            rows = [row for row in self.finished if (row["tool_calls"] is not None) == with_tools]
            if rows:
                statement = _finish_statement(tuple(rows[0]), with_tools)
                done += connection.execute(statement, rows).rowcount
        if connection.dialect.supports_sane_multi_rowcount and done != len(self.finished):
            raise LookupError(f"{len(self.finished) - done} finished generations do not exist")


# The UPDATE statements are built once per set of columns, not per batch: building one (its
# bound parameters, its cache key) cost about as much as running it.


@functools.cache
def _finish_statement(names: tuple[str, ...], with_tools: bool) -> Update:
    skip = {"row_id"} if with_tools else {"row_id", "tool_calls"}
    values: dict[str, Any] = {name: bindparam(name) for name in names if name not in skip}
    if not with_tools:
        values["tool_calls"] = null()
    return update(GENERATIONS).where(GENERATIONS.c.id == bindparam("row_id")).values(values)


@functools.cache
def _interrupt_statement(names: tuple[str, ...]) -> Update:
    """Only a generation still pending is marked interrupted."""
    values: dict[str, Any] = {name: bindparam(name) for name in names if name != "row_id"}
    return (
        update(GENERATIONS)
        .where(GENERATIONS.c.id == bindparam("row_id"), GENERATIONS.c.status == "pending")
        .values(values)
    )


_INSERT_TASKS, _INSERT_API_CALLS, _INSERT_GENERATIONS = (
    insert(TASKS),
    insert(API_CALLS),
    insert(GENERATIONS),
)
_SPEND = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("token"))
    .values(spent_usd=TOKENS.c.spent_usd + bindparam("usd"))
)


Record = Callable[[Batch], None]
"""Adds one call's rows to a batch."""


@dataclass
class _Item:
    record: Record
    future: Future[None]


_STOP = object()


def _settle(future: asyncio.Future[None], outcome: Future[None]) -> None:
    """Resolve ``future`` (of the loop) as the thread's ``outcome`` resolves."""

    def done(_: asyncio.Future[None]) -> None:
        exception = wrapped.exception()  # read even if nobody waits any more
        if future.done():
            return
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(None)

    wrapped = asyncio.wrap_future(outcome)
    wrapped.add_done_callback(done)


@dataclass
class _Waiting:
    """A record waiting for the loop's next transaction (SQLite)."""

    record: Record
    future: asyncio.Future[None]


class CallWriter:
    """The writer of one store: in the loop for SQLite, in a thread (started on the first
    record it gets) otherwise."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (for tests and the bench)
        self.checkpoints = 0  # SQLite: WAL checkpoints taken off the loop (for tests)
        self.in_loop = store.engine.dialect.name == "sqlite"
        self._waiting: list[_Waiting] = []
        self._own: Connection | None = None  # SQLite: the loop's connection
        self._checkpointing = False  # a checkpoint is running in a worker thread
        self._closed = False  # closed from the loop: later records go to the thread
        self._checkpointed = time.monotonic()
        self._since_checkpoint = 0  # records committed in the loop since the last checkpoint
        self._later: list[_Waiting] = []  # records waiting for the end of their window
        self._later_timer: asyncio.TimerHandle | None = None

    def write(self, record: Record, *, later: bool = False) -> asyncio.Future[None]:
        """Write one record: the future resolves once it has committed, or raises what its
        write raised (a future of the running loop, not a coroutine: a call's records make no
        task of their own). ``later``: nobody is waiting for it, and it is written
        :data:`LATER_S` from now with the other such records."""
        if self._closed or not (later or self.in_loop):
            return asyncio.wrap_future(self._submit(record))
        loop = asyncio.get_running_loop()
        waiting = _Waiting(record, loop.create_future())
        if later:
            self._later.append(waiting)
            if self._later_timer is None:
                self._later_timer = loop.call_later(LATER_S, self._release_later, loop)
        else:
            self._enqueue([waiting], loop)
        return waiting.future

    def _enqueue(self, records: list[_Waiting], loop: asyncio.AbstractEventLoop) -> None:
        """SQLite: queue records for the transaction at the end of this turn of the loop."""
        first = not self._waiting
        self._waiting.extend(records)
        if first:
            loop.call_soon(self._flush, loop)

    def _release_later(self, loop: asyncio.AbstractEventLoop) -> None:
        """The window of the ``later`` records has ended: they are written now."""
        records, self._later, self._later_timer = self._later, [], None
        if self.in_loop and not self._closed:
            self._enqueue(records, loop)
        else:
            self._hand_to_thread(records)

    def _submit(self, record: Record) -> Future[None]:
        """Hand a record to the writer thread."""
        future: Future[None] = Future()
        self._start()
        self._queue.put(_Item(record, future))
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """SQLite, in the loop: one transaction for what arrived in this turn (at most
        ``max_batch`` records; the rest in the next turn)."""
        batch = self._waiting[: self._max_batch]
        del self._waiting[: self._max_batch]
        if self._waiting:
            loop.call_soon(self._flush, loop)
        if self._closed:  # closed meanwhile: the thread writes what is left
            self._hand_to_thread(batch)
            return
        try:
            connection = self._loop_connection()
            with connection.begin():  # rolled back if it raises
                Batch.of(waiting.record for waiting in batch).write(connection)
        except Exception:  # the lock was taken (OperationalError), or a bad record
            self._hand_to_thread(batch)
            return
        self.batches += 1
        self._since_checkpoint += len(batch)
        for waiting in batch:
            if not waiting.future.done():  # its request may have been cancelled
                waiting.future.set_result(None)
        self._checkpoint_soon(loop)

    def _checkpoint_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start a checkpoint in a worker thread, unless one runs or ran within
        :data:`CHECKPOINT_EVERY_S`, or fewer than :data:`CHECKPOINT_AFTER_RECORDS` records
        have been written since."""
        if (
            self._checkpointing
            or self._since_checkpoint < CHECKPOINT_AFTER_RECORDS
            or time.monotonic() - self._checkpointed < CHECKPOINT_EVERY_S
        ):
            return
        self._checkpointing, self._checkpointed = True, time.monotonic()
        self._since_checkpoint = 0
        try:
            loop.run_in_executor(None, self._take_checkpoint)
        except RuntimeError:  # the executor is shutting down: no checkpoint this time
            self._checkpointing = False

    def _hand_to_thread(self, batch: list[_Waiting]) -> None:
        """The writer thread writes these (waiting for the lock, a bad record alone)."""
        for waiting in batch:
            _settle(waiting.future, self._submit(waiting.record))

    def _loop_connection(self) -> Connection:
        """The loop's own connection, made (again, if it broke) with no busy timeout and no
        automatic checkpoints."""
        connection = self._own
        if connection is None or connection.closed or connection.invalidated:
            self._close_own()
            connection = self._store.engine.connect()
            connection.detach()  # its settings below must not reach the pool's other users
            connection.exec_driver_sql("PRAGMA busy_timeout=0")  # never wait in the loop
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # off the loop instead
            connection.commit()
            self._own = connection
        return connection

    def _close_own(self) -> bool:
        """Close the loop's connection; whether there was one (whether it wrote)."""
        own, self._own = self._own, None
        if own is None:
            return False
        with contextlib.suppress(Exception):
            own.close()
        return True

    def _take_checkpoint(self) -> None:
        """A passive WAL checkpoint (it waits for nobody), in a worker thread."""
        try:
            with self._store.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            self.checkpoints += 1
        except Exception:  # the next one will try again; SQLite's own checkpoints remain
            _log.warning("a WAL checkpoint of the endpoint's writer failed", exc_info=True)
        finally:
            self._checkpointing = False

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="api-call-writer", daemon=True)
                thread.start()
                self._thread = thread

    async def aclose(self) -> None:
        """Close from the running loop (the app's shutdown): the loop's connection is closed
        here, where none of its transactions can be running, later records go to the thread,
        and what is queued for the thread is written."""
        self._closed = True
        if self._later_timer is not None:  # records in their window: to the thread, now
            self._later_timer.cancel()
            self._release_later(asyncio.get_running_loop())
        wrote = self._close_own()
        await asyncio.to_thread(self._stop_thread)
        if wrote:  # what is in the log goes into the database file
            await asyncio.to_thread(self._take_checkpoint)

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later record starts it again) and
        close the loop's connection (from another thread only while the loop is not writing:
        :meth:`aclose` otherwise)."""
        self._stop_thread()
        if self._close_own():  # it wrote: what is in the log goes into the database file
            self._take_checkpoint()

    def _stop_thread(self) -> None:
        """Write what the thread has queued, then stop it."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Item)
            items = [first]
            stop = False
            while len(items) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                assert isinstance(more, _Item)
                items.append(more)
            self._write(items)
            if stop:
                return

    def _write(self, items: list[_Item]) -> None:
        try:
            self._commit(items)
        except Exception:
            for item in items:  # one bad record must not fail the others
                self._commit_alone(item)
            return
        for item in items:
            item.future.set_result(None)

    def _commit_alone(self, item: _Item) -> None:
        try:
            self._commit([item])
        except Exception as exc:
            item.future.set_exception(exc)
        else:
            item.future.set_result(None)

    def _commit(self, items: list[_Item]) -> None:
        with self._store.engine.begin() as connection:
            Batch.of(item.record for item in items).write(connection)
        self.batches += 1
