"""Several browsers opening the same login link at once: one session, the others refused.

The link is consumed by one conditional UPDATE (`… WHERE used_at IS NULL`). On PostgreSQL
the redemptions are held behind a third transaction's lock on the link's row until all of
them wait on it, so they really run at the same time; SQLite serialises them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlmodel import func, select

from bot.db.engine import make_engine, transaction
from bot.db.models import DashboardSession
from bot.services import dashboard, demo, users
from bot.settings import Settings
from tests.web.conftest import MONDAY_0900
from tests.worker.pg import PostgresServer, start_postgres
from tests.worker.races import wait_for_waiters

BROWSERS = 4


def _link(engine: Engine, settings: Settings) -> str:
    with transaction(engine) as session:
        demo.seed(session=session, now=MONDAY_0900)
        user = users.get_user_by_handle(session=session, handle="demo-manager")
        assert user is not None
        url = dashboard.issue_link(session=session, settings=settings, user=user, now=MONDAY_0900)
    return url.rsplit("/", 1)[1]


def _race(engine: Engine, *, hold: bool) -> tuple[list[str], list[str]]:
    settings = Settings(_env_file=None, dashboard_secret_key="s" * 40)  # type: ignore[call-arg]
    token = _link(engine, settings)
    opened: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(BROWSERS + 1)

    def browser() -> None:
        barrier.wait()
        try:
            with transaction(engine) as session:
                result = dashboard.redeem_link(
                    session=session, settings=settings, token=token, now=MONDAY_0900
                )
            opened.append(result.token)
        except dashboard.LinkRefusedError as exc:
            refused.append(str(exc.params["reason"]))

    threads = [threading.Thread(target=browser) for _ in range(BROWSERS)]
    for thread in threads:
        thread.start()
    if hold:
        with engine.connect() as blocker:
            blocker.execute(text("SELECT id FROM dashboard_links FOR UPDATE"))
            barrier.wait()
            wait_for_waiters(engine, BROWSERS)
            blocker.commit()
    else:
        barrier.wait()
    for thread in threads:
        thread.join()
    return opened, refused


def _sessions(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(DashboardSession)).one())


def test_one_session_per_link_on_sqlite(engine: Engine) -> None:
    opened, refused = _race(engine, hold=False)
    assert len(opened) == 1
    assert refused == ["used"] * (BROWSERS - 1)
    assert _sessions(engine) == 1


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 (skips when it cannot start)."""
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres
def test_one_session_per_link_on_postgres(postgres: PostgresServer) -> None:
    engine = make_engine(postgres.new_database())
    try:
        opened, refused = _race(engine, hold=True)
        assert len(opened) == 1
        assert refused == ["used"] * (BROWSERS - 1)
        assert _sessions(engine) == 1
    finally:
        engine.dispose()
