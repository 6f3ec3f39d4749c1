"""One thread that writes the endpoint's records, many calls to a transaction.

A request hands its record to :meth:`CallWriter.write` and awaits it: the writer thread takes
everything that is waiting (up to :data:`MAX_BATCH` records) and writes it in one transaction,
and each awaiting request resumes once that transaction has committed. So a call's rows are in
the database before its response goes out, exactly as with one transaction per record, but
under load one commit (and one thread hop) serves many calls. Records that arrive while a
transaction runs form the next batch: there is no timer, an idle writer writes at once.

If a batch's transaction fails, each of its records is written again in a transaction of its
own, so a bad record fails only its own request (with the database's exception) and never the
others. Records of one batch are written in the order of their kinds (inserts, then updates),
and a request submits a call's next record only once the previous one has committed.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, Update, bindparam, insert, null, update

from codearena.store import Generation, Store, Task
from codearena.store.api_models import ApiCall, ApiToken

MAX_BATCH = 256
"""At most this many records in one transaction."""
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


class CallWriter:
    """The writer thread of one store, started on the first record."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (for tests and the bench)

    async def write(self, record: Record) -> None:
        """Write one record; returns once it has committed, raises what its write raised."""
        future: Future[None] = Future()
        self._start()
        self._queue.put(_Item(record, future))
        await asyncio.wrap_future(future)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="api-call-writer", daemon=True)
                thread.start()
                self._thread = thread

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later record starts it again)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
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
        batch = Batch()
        for item in items:
            item.record(batch)
        with self._store.engine.begin() as connection:
            batch.write(connection)
        self.batches += 1
