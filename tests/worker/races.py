"""Concurrent actors on one ticket: started together, optionally held behind its row lock."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text


def run_together(
    *,
    engine: Engine,
    ticket_id: int,
    threads: list[threading.Thread],
    barrier: threading.Barrier,
    hold: bool,
) -> None:
    """Start `threads` (each waits on `barrier`) and join them.

    With `hold` (PostgreSQL), a third transaction locks the ticket's row first and releases it
    only once every thread waits on that lock, so they reach it at the same instant.
    """
    run_behind_lock(
        engine=engine,
        lock=("SELECT id FROM tickets WHERE id = :id FOR UPDATE", {"id": ticket_id}),
        threads=threads,
        barrier=barrier,
        hold=hold,
    )


def run_behind_lock(
    *,
    engine: Engine,
    lock: tuple[str, dict[str, object]],
    threads: list[threading.Thread],
    barrier: threading.Barrier,
    hold: bool,
) -> None:
    """Like `run_together`, holding the rows that `lock` (a ``SELECT … FOR UPDATE``) selects."""
    for thread in threads:
        thread.start()
    if hold:
        with engine.connect() as blocker:
            blocker.execute(text(lock[0]), lock[1])
            barrier.wait()
            wait_for_waiters(engine, len(threads))
            blocker.commit()
    else:
        barrier.wait()
    for thread in threads:
        thread.join()


def wait_for_waiters(engine: Engine, count: int) -> None:
    """Until `count` other sessions wait on a row lock (no time limit: the test's own)."""
    with engine.connect() as probe:
        while True:
            waiting = probe.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            probe.rollback()
            if waiting >= count:
                return
