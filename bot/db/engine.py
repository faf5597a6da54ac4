"""Engines and sessions: SQLite tuned for concurrent writers, PostgreSQL as-is.

Writes run in `transaction` (SQLite: `BEGIN IMMEDIATE`, the write lock up front). Reads may
run in `read_transaction` (SQLite: a deferred `BEGIN`, which never blocks a writer in WAL
mode); a write attempted there raises `WriteNeeded` before anything is written, and the
caller runs the work again in `transaction`.

On SQLite, the writers of one process also queue on a lock of their own before
`BEGIN IMMEDIATE` (`_WriteQueueConnection`): SQLite's busy handler makes a waiting writer
sleep and poll (1, 2, 5 … 100 ms), so under a burst of events most of a writer's wait was
sleeping after the lock was already free; the queue hands the turn over at once, and a
write an acknowledgement waits for (`URGENT`: storing a platform event) goes first. Other
processes still meet SQLite's busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from bot.settings import get_settings

#: Execution option marking a read transaction (see `read_transaction`).
READ_ONLY = "supportbot_read_only"
#: Execution option marking a short write that an acknowledgement waits for (storing a
#: platform event): on SQLite it goes before the process's other writers.
URGENT = "supportbot_urgent"
_READ_VERBS = ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK", "WITH")


class WriteNeeded(Exception):
    """A read transaction was about to write: run the work again in a write transaction."""


class WriteQueue:
    """The turn to write to one SQLite file in this process: one writer at a time, and an
    urgent writer (storing an event before its acknowledgement) goes before the others.

    The turn is handed to the next waiter directly (urgent ones first, then in arrival order),
    waking that one thread: waking every waiter to re-check a condition cost a burst of
    context switches on each commit, each stalling the process while it held the GIL."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._urgent: deque[threading.Lock] = deque()
        self._others: deque[threading.Lock] = deque()

    def waiting(self, *, urgent: bool) -> int:
        """How many urgent (or other) writers wait for the turn."""
        return len(self._urgent if urgent else self._others)

    def acquire(self, *, urgent: bool, timeout: float) -> bool:
        """Wait for the turn (at most `timeout` s); whether it was taken."""
        with self._guard:
            if not self._held:  # nobody waits when the turn is free: it is handed over
                self._held = True
                return True
            baton = threading.Lock()
            baton.acquire()
            line = self._urgent if urgent else self._others
            line.append(baton)
        if baton.acquire(timeout=timeout):
            return True  # handed over by `release`, still held
        with self._guard:
            try:
                line.remove(baton)
            except ValueError:  # handed over just as the wait ended: the turn is ours
                return True
            return False

    def release(self) -> None:
        """Give the turn to the next writer (or free it)."""
        with self._guard:
            line = self._urgent or self._others
            if line:
                line.popleft().release()
            else:
                self._held = False


_write_queues: dict[str, WriteQueue] = {}
_write_queues_guard = threading.Lock()


def _write_queue(path: str) -> WriteQueue:
    """The write queue of this process for the SQLite file `path`."""
    with _write_queues_guard:
        return _write_queues.setdefault(path, WriteQueue())


class _WriteQueueConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions first take the process's write lock of
    its file, given back when the transaction ends (commit, rollback or close)."""

    write_queue: WriteQueue | None = None
    queued = False

    def join_write_queue(self, timeout: float, *, urgent: bool = False) -> None:
        """Wait for this process's turn to write (`OperationalError` after `timeout` s)."""
        queue = self.write_queue
        if queue is None or self.queued:
            return
        if not queue.acquire(urgent=urgent, timeout=max(timeout, 0.001)):
            raise sqlite3.OperationalError("database is locked")
        self.queued = True

    def leave_write_queue(self) -> None:
        """Give the turn to the next writer of this process."""
        if self.queued and self.write_queue is not None:
            self.queued = False
            self.write_queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_write_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_write_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_write_queue()


def make_engine(url: str, *, busy_timeout_ms: int = 5000, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout, BEGIN IMMEDIATE."""
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={
            "check_same_thread": False,
            "timeout": busy_timeout_ms / 1000,
            "factory": _WriteQueueConnection,
        },
    )
    queue = _write_queue(path or url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        dbapi_connection.write_queue = queue
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # a snapshot read: no lock, never waits
            return
        # Take the write lock up front: two writers never both read-then-upgrade and deadlock.
        raw = connection.connection.dbapi_connection
        if isinstance(raw, _WriteQueueConnection):
            options = connection.get_execution_options()
            try:
                raw.join_write_queue(busy_timeout_ms / 1000, urgent=bool(options.get(URGENT)))
            except sqlite3.OperationalError as exc:  # as SQLite's own busy timeout reports it
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(raw, _WriteQueueConnection):
                raw.leave_write_queue()
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(
        connection: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if not connection.get_execution_options().get(READ_ONLY):
            return
        if not statement.lstrip().upper().startswith(_READ_VERBS):
            raise WriteNeeded(statement.split(None, 1)[0])

    return engine


@lru_cache(maxsize=16)
def urgent(engine: Engine) -> Engine:
    """`engine` for a short write an acknowledgement waits for (see `URGENT`)."""
    return engine.execution_options(**{URGENT: True})


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """A process-wide engine per URL."""
    return make_engine(url, busy_timeout_ms=get_settings().sqlite_busy_timeout_ms)


_ready: set[str] = set()


def get_engine(*, check: bool = True) -> Engine:
    """The engine for the configured database; with `check`, one that is migrated to head.

    An absent SQLite file, an unreachable server, a non-UTF-8 database, or a schema older or
    newer than the code raise `DatabaseNotReadyError` with one line naming the fix.
    """
    url = get_settings().database_url
    if check and url not in _ready:
        from bot.db.migrate import check_file, check_ready

        check_file(url=url)
        check_ready(engine=engine_for(url), url=url)
        _ready.add(url)
    return engine_for(url)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One session in a read transaction: deferred on SQLite, where a write raises `WriteNeeded`.

    Elsewhere (PostgreSQL, where readers never block writers) it is a plain `transaction`.
    """
    bound = engine or get_engine()
    if bound.dialect.name != "sqlite":
        with transaction(bound) as session:
            yield session
        return
    reading = bound.execution_options(**{READ_ONLY: True})
    with Session(reading, expire_on_commit=False) as session, session.begin():
        yield session
