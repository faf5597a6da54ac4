"""`supportbot serve` as real processes: two at once on PostgreSQL, and SIGKILLed while
Telegram and Slack traffic flows (on SQLite and on PostgreSQL) beside CPU-bound processes.

Every event answered 200 must have its effect in the database exactly once. No duration is
compared: the tests wait on conditions, with generous limits against a hang only. The
two-process test is part of the default run; the crash test (marker `serve_processes`, about
half an hour on two cores) runs with `make test-crash`. Under pytest-xdist the tests that start
CPU burners run on one worker, in turn (`BURNER_TESTS` in tests/conftest.py).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.inbox.served import (
    Burners,
    Platforms,
    Server,
    Traffic,
    comment_order,
    effects,
    effects_once_drained,
    free_port,
    in_order,
    parked,
    prepare,
    reader,
    unhandled,
    wait_for,
)
from tests.worker.pg import PostgresServer

KILLS = 30
SETTLE_LIMIT = 600.0  # seconds: only against a hang
STALL_LIMIT = 300.0  # seconds without one more event handled: a hang (a backlog drains at its pace)


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compiled modules of the served processes, shared by every start of the session."""
    return tmp_path_factory.mktemp("pycache")


def _url(backend: str, db_url: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return db_url
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_serve_processes_on_postgres_share_a_mixed_workload(
    postgres: PostgresServer, tmp_path: Path, pycache: Path
) -> None:
    url = postgres.new_database()
    reference = prepare(url)
    platforms = Platforms()
    servers = [
        Server(url, free_port(), platforms, tmp_path, name=f"serve-{n}", pycache=pycache)
        for n in (1, 2)
    ]
    engine = reader(url)
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        ports = [server.port for server in servers]
        traffic = Traffic.of(reference, lambda: ports, limit=30)
        traffic.start()
        traffic.join(limit=SETTLE_LIMIT)
        acked = traffic.acked
        done = effects_once_drained(
            engine, reference, acked, stall=STALL_LIMIT, what="every acknowledged event handled"
        )
    finally:
        for server in servers:
            server.stop()
        platforms.stop()
    logs = "".join(server.tail() for server in servers)
    lost = [marker for marker in acked if done[marker] == 0]
    doubled = {marker: count for marker, count in done.items() if count > 1}
    print(
        f"\ntwo serve processes on PostgreSQL: {len(acked)} events answered 200, "
        f"{sum(done.values())} handled, lost {len(lost)}, duplicated {len(doubled)}, "
        f"failed posts {dict(traffic.refused)}, parked {parked(engine)}"
    )
    assert len(acked) == 4 * 30
    assert lost == []
    assert doubled == {}
    assert traffic.refused == {}  # 0 errors: every post answered 200 at once
    assert parked(engine) == 0
    # No event failed in either process (the retention pass has its own log lines).
    for failure in ("inbox:", "event handling failed", "slack work failed", "Telegram update"):
        assert failure not in logs
    assert in_order(comment_order(engine))
    engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_serve_with_two_workers_on_one_port_handles_the_events(
    postgres: PostgresServer, tmp_path: Path, pycache: Path
) -> None:
    # `serve --workers 2`: uvicorn builds the app in each process from the settings.
    url = postgres.new_database()
    reference = prepare(url)
    platforms = Platforms()
    server = Server(url, free_port(), platforms, tmp_path, args=["--workers", "2"], pycache=pycache)
    engine = reader(url)
    try:
        server.start()
        server.wait_ready()
        traffic = Traffic.of(reference, lambda: [server.port], limit=5)
        traffic.start()
        traffic.join(limit=SETTLE_LIMIT)
        acked = traffic.acked
        done = effects_once_drained(
            engine, reference, acked, stall=STALL_LIMIT, what="every acknowledged event handled"
        )
    finally:
        server.stop()
        platforms.stop()
    assert len(acked) == 4 * 5
    assert [marker for marker in acked if done[marker] != 1] == []
    assert traffic.refused == {}
    engine.dispose()


@pytest.mark.slow
@pytest.mark.serve_processes
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_serve_killed_again_and_again_loses_and_doubles_nothing(
    backend: str, db_url: str, tmp_path: Path, pycache: Path, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, db_url, request)
    reference = prepare(url)
    platforms = Platforms()
    server = Server(url, free_port(), platforms, tmp_path, pycache=pycache)
    burners = Burners()
    engine = reader(url)
    ports = [server.port]
    traffic = Traffic.of(reference, lambda: ports)
    at_work = 0
    rng = random.Random(17)
    try:
        traffic.start()
        for _kill in range(KILLS):
            before = sum(effects(engine, reference).values())
            server.start()
            server.wait_ready()
            # Each life does some work before it dies (a condition, whatever the machine's
            # speed), then dies at a random point while traffic keeps flowing.
            wait_for(
                lambda before=before: sum(effects(engine, reference).values()) > before,
                limit=SETTLE_LIMIT,
                what="the restarted process to handle an event",
            )
            time.sleep(rng.uniform(0.0, 1.0))
            server.kill()
            at_work += int(unhandled(engine) > 0)
        server.start()
        server.wait_ready()
        traffic.finish(limit=SETTLE_LIMIT)
        acked = traffic.acked
        done = effects_once_drained(
            engine,
            reference,
            acked,
            stall=STALL_LIMIT,
            what="every acknowledged event handled after the last restart",
        )
    finally:
        server.stop()
        burners.stop()
        platforms.stop()
    lost = [marker for marker in acked if done[marker] == 0]
    doubled = {marker: count for marker, count in done.items() if count > 1}
    unexpected = [marker for marker in done if marker not in set(acked)]
    print(
        f"\nserve crash test on {backend}: {KILLS} SIGKILLs ({at_work} with events waiting), "
        f"{server.starts} starts, {len(acked)} events answered 200 "
        f"({sum(1 for m in acked if m.startswith('te'))} Telegram, "
        f"{sum(1 for m in acked if m.startswith('sl'))} Slack), {sum(done.values())} handled, "
        f"lost {len(lost)}, duplicated {len(doubled)}, parked {parked(engine)}, "
        f"re-posts {sum(s.retries for s in traffic.senders)} ({dict(traffic.refused)})"
    )
    assert server.starts == KILLS + 1
    assert len(acked) > KILLS
    assert lost == []
    assert doubled == {}
    assert parked(engine) == 0
    # Events never answered 200 may still have been handled once (stored, then killed
    # before the answer): their re-post is a duplicate, handled once too.
    assert all(done[marker] == 1 for marker in unexpected)
    assert in_order(comment_order(engine))
    engine.dispose()
