"""Fixtures of the inbox tests: a throwaway PostgreSQL server, either database, raw inbox rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import InboundUpdate
from tests.worker.pg import PostgresServer, start_postgres


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 15 server on 127.0.0.1 (skips when it cannot start)."""
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def either(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Engine]:
    """The test's SQLite database, or a fresh PostgreSQL one (disposed after the test)."""
    if request.param == "sqlite":
        yield engine
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    pg = make_engine(server.new_database())
    try:
        yield pg
    finally:
        pg.dispose()


def put(
    engine: Engine,
    *,
    key: str,
    chat: str,
    seq: int,
    payload: str = "{}",
    channel: str = "memory",
    received_at: datetime | None = None,
) -> int:
    """Store one inbox row as a channel would (received now, or at `received_at`); its id."""
    with transaction(engine) as session:
        row = InboundUpdate(
            channel=channel,
            external_key=key,
            payload=payload,
            received_at=received_at or datetime.now(UTC),
            chat_key=chat,
            seq=seq,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def rows(engine: Engine) -> list[InboundUpdate]:
    """Every inbox row, in id order."""
    with transaction(engine) as session:
        return list(session.exec(select(InboundUpdate).order_by(InboundUpdate.id)).all())  # type: ignore[arg-type]
