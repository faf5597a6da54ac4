"""SQLite writers of one process queue for their turn; storing an event goes first."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from bot.db.engine import WriteQueue, make_engine, urgent

LIMIT = 60.0  # seconds, only against a hang


def _engine(tmp_path: Path, **kwargs: int) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", **kwargs)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT)"))
    return engine


def test_an_urgent_writer_goes_before_the_writers_already_waiting() -> None:
    queue = WriteQueue()
    assert queue.acquire(urgent=False, timeout=LIMIT)
    order: list[str] = []
    waiting = threading.Barrier(4)

    def writer(name: str, *, is_urgent: bool) -> None:
        waiting.wait(LIMIT)
        assert queue.acquire(urgent=is_urgent, timeout=LIMIT)
        order.append(name)
        queue.release()

    threads = [
        threading.Thread(target=writer, args=("normal-1",), kwargs={"is_urgent": False}),
        threading.Thread(target=writer, args=("normal-2",), kwargs={"is_urgent": False}),
        threading.Thread(target=writer, args=("urgent",), kwargs={"is_urgent": True}),
    ]
    for thread in threads:
        thread.start()
    waiting.wait(LIMIT)
    # Wait until the urgent writer is counted as waiting (the others may still be on their way).
    deadline = time.monotonic() + LIMIT
    while queue.waiting(urgent=True) != 1:
        assert time.monotonic() < deadline, "the urgent writer never waited"
        time.sleep(0.001)
    queue.release()
    for thread in threads:
        thread.join(LIMIT)
    assert order[0] == "urgent"
    assert sorted(order) == ["normal-1", "normal-2", "urgent"]


def test_the_turn_is_given_back_on_commit_rollback_and_error(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO log (who) VALUES ('commit')"))

    def fails() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO log (who) VALUES ('rolled back')"))
            raise RuntimeError("the work failed")

    def refused() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO nowhere (who) VALUES ('bad')"))

    with pytest.raises(RuntimeError):
        fails()
    with pytest.raises(OperationalError):
        refused()
    # Another thread gets its turn at once: nothing was left held.
    done: list[int] = []

    def other() -> None:
        with urgent(engine).begin() as connection:
            connection.execute(text("INSERT INTO log (who) VALUES ('other')"))
        done.append(1)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(LIMIT)
    assert done == [1]
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT who FROM log ORDER BY id")).scalars().all()
    assert rows == ["commit", "other"]


def test_a_writer_kept_waiting_past_the_busy_timeout_is_refused(tmp_path: Path) -> None:
    engine = _engine(tmp_path, busy_timeout_ms=50)
    held = engine.connect()
    transaction = held.begin()
    try:
        failures: list[str] = []

        def late() -> None:
            try:
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO log (who) VALUES ('late')"))
            except OperationalError as exc:
                failures.append(str(exc))

        thread = threading.Thread(target=late)
        thread.start()
        thread.join(LIMIT)
        assert len(failures) == 1
        assert "database is locked" in failures[0]
    finally:
        transaction.rollback()
        held.close()


def _wait_for_waiters(queue: WriteQueue, count: int, *, urgent: bool = False) -> None:
    deadline = time.monotonic() + LIMIT
    while queue.waiting(urgent=urgent) != count:
        assert time.monotonic() < deadline, "the writers never waited"
        time.sleep(0.001)


def test_waiting_writers_get_the_turn_one_at_a_time_in_arrival_order() -> None:
    queue = WriteQueue()
    assert queue.acquire(urgent=False, timeout=LIMIT)
    order: list[int] = []
    holding: list[int] = []  # writers holding the turn at once: never more than one

    def writer(number: int) -> None:
        assert queue.acquire(urgent=False, timeout=LIMIT)
        holding.append(number)
        assert len(holding) == 1
        order.append(number)
        holding.remove(number)
        queue.release()

    threads = []
    for number in range(5):
        thread = threading.Thread(target=writer, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_for_waiters(queue, number + 1)
    queue.release()
    for thread in threads:
        thread.join(LIMIT)
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(urgent=False, timeout=0)  # the last one freed the turn


def test_a_writer_that_gives_up_leaves_the_line() -> None:
    queue = WriteQueue()
    assert queue.acquire(urgent=False, timeout=LIMIT)
    assert not queue.acquire(urgent=True, timeout=0.01)
    assert queue.waiting(urgent=True) == 0
    queue.release()
    assert queue.acquire(urgent=False, timeout=0)  # nobody was handed a turn it gave up
