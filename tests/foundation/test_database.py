"""The database layer: migrations, SQLite pragmas, column types."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from bot.db.engine import make_engine, transaction
from bot.db.migrate import DatabaseNotReadyError, check_ready, current_revision, head_revision
from bot.db.migrate import upgrade as migrate_upgrade
from bot.db.models import Contract, LedgerEntry, LedgerEntryType, Tenant


def test_upgrade_creates_then_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'bot.db'}"
    migrate_upgrade(url=url)
    engine = make_engine(url)
    assert current_revision(engine=engine) == head_revision(url=url)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT sql FROM sqlite_master ORDER BY name")).all()
    migrate_upgrade(url=url)
    with engine.connect() as connection:
        after = connection.execute(text("SELECT sql FROM sqlite_master ORDER BY name")).all()
    assert before == after
    check_ready(engine=engine, url=url)


def test_unmigrated_database_is_refused_with_hint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(DatabaseNotReadyError, match=r"run `supportbot db upgrade`"):
        check_ready(engine=make_engine(url), url=url)


def test_older_database_is_refused_with_hint(engine: Engine, db_url: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    with pytest.raises(DatabaseNotReadyError, match="at revision older"):
        check_ready(engine=engine, url=db_url)


def test_sqlite_pragmas(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_foreign_keys_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(Contract(tenant_id=999, pack_id="telenet-hosting-cloud"))


def test_write_transactions_take_the_lock_up_front(engine: Engine) -> None:
    """A second writer waits for the first instead of failing on lock upgrade."""
    with transaction(engine) as session:
        session.add(Tenant(slug="acme", name="Acme"))
    order: list[str] = []

    def second_writer() -> None:
        with transaction(engine) as session:
            tenant = session.get(Tenant, 1)
            order.append("second")
            assert tenant is not None
            tenant.name += " 2"

    with transaction(engine) as session:
        tenant = session.get(Tenant, 1)
        assert tenant is not None
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.2)
        order.append("first")
        tenant.name += " 1"
    thread.join()
    assert order == ["first", "second"]
    with transaction(engine) as session:
        tenant = session.get(Tenant, 1)
        assert tenant is not None
        assert tenant.name == "Acme 1 2"


def test_instants_come_back_aware_utc_and_amounts_exact(engine: Engine) -> None:
    logged = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    with transaction(engine) as session:
        tenant = Tenant(slug="acme", name="Acme")
        session.add(tenant)
        session.flush()
        contract = Contract(tenant_id=tenant.id or 0, pack_id="telenet-hosting-cloud")
        session.add(contract)
        session.flush()
        session.add(
            LedgerEntry(
                tenant_id=tenant.id or 0,
                contract_id=contract.id or 0,
                unit="credits",
                type=LedgerEntryType.PURCHASE,
                amount=Decimal("0.1"),
                at=logged,
            )
        )
    with transaction(engine) as session:
        entry = session.get(LedgerEntry, 1)
        assert entry is not None
        assert entry.at == logged
        assert entry.at.tzinfo is UTC
        assert entry.amount == Decimal("0.1")
        assert isinstance(entry.amount, Decimal)


def test_naive_instants_are_refused(engine: Engine) -> None:
    tenant = Tenant(slug="x", name="X", created_at=datetime(2026, 1, 1))
    with transaction(engine) as session:
        session.add(tenant)
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()
        session.rollback()


def test_float_amounts_are_refused(engine: Engine) -> None:
    with transaction(engine) as session:
        tenant = Tenant(slug="acme", name="Acme")
        session.add(tenant)
        session.flush()
        contract = Contract(tenant_id=tenant.id or 0, pack_id="p")
        session.add(contract)
        session.flush()
        entry = LedgerEntry(
            tenant_id=tenant.id or 0,
            contract_id=contract.id or 0,
            unit="credits",
            type=LedgerEntryType.PURCHASE,
            amount=0.1,  # type: ignore[arg-type]
        )
        session.add(entry)
        with pytest.raises(Exception, match="exact decimal expected"):
            session.flush()
        session.rollback()


def test_migrations_match_the_models(engine: Engine) -> None:
    """`alembic revision --autogenerate` would find nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []
