"""Fixtures of the volume tests: the handlers' clock and settings, a core to call, a fresh
PostgreSQL database with the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.db.engine import make_engine, transaction
from bot.services import demo
from tests.handlers.conftest import clock, seeded, settings
from tests.worker.conftest import PostgresServer, postgres

__all__ = ["clock", "postgres", "seeded", "settings"]

#: When `pg`'s demo data is seeded: the tallies' tests count around it.
SEEDED_AT = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database with the demo data."""
    engine = make_engine(postgres.new_database())
    with transaction(engine) as session:
        demo.seed(session=session, now=SEEDED_AT)
    yield engine
    engine.dispose()
