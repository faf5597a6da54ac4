"""Holds and charges racing on one account: the contract row serialises them.

Eight tickets ask for an 8-credit hold at the same instant on 40 available credits: exactly
five get it, three are refused, and the available balance never goes below zero. Two tickets
charged 30 credits at the same instant on an account with automatic top-up (Telenet 4.4): the
second charge sees the first one's balance and tops up exactly the packs needed (balance back
to 0, not -20). On PostgreSQL the actors wait together on a lock of the contract's row held by
a third transaction; SQLite serialises them (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Contract, LedgerEntryType, Ticket
from bot.services import demo, ledger
from bot.services.ledger import InsufficientBalanceError
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_behind_lock

PACK = "telenet-hosting-cloud"


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


def _tickets(engine: Engine, start: datetime, count: int) -> tuple[int, list[int]]:
    """`count` tickets on the demo credits contract, their holds released: (contract, ids)."""
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    opened = [
        open_ticket(
            engine,
            pack_id=PACK,
            intervention="dedicated-server-down-not-hardware",
            priority="express",
            now=start,
        )
        for _ in range(count)
    ]
    with transaction(engine) as session:
        contract = session.exec(select(Contract).where(Contract.pack_id == PACK)).one()
        assert contract.id is not None
        for ticket in opened:
            assert ticket.id is not None
            ledger.release_hold(
                session=session, contract_id=contract.id, ticket_id=ticket.id, at=start
            )
        assert ledger.available(session=session, contract_id=contract.id) == Decimal(40)
    return contract.id, [t.id for t in opened if t.id is not None]


def _race(
    engine: Engine, contract_id: int, actors: list[Callable[[], object]]
) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(actors) + 1)

    def run(actor: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results.append(actor())
        except BaseException as exc:  # counted by the test
            errors.append(exc)

    run_behind_lock(
        engine=engine,
        lock=("SELECT id FROM contracts WHERE id = :id FOR UPDATE", {"id": contract_id}),
        threads=[threading.Thread(target=run, args=(actor,)) for actor in actors],
        barrier=barrier,
        hold=engine.dialect.name == "postgresql",
    )
    return results, errors


def _holds(engine: Engine, start: datetime) -> None:
    contract_id, ids = _tickets(engine, start, 8)

    def hold(ticket_id: int) -> Callable[[], object]:
        def place() -> object:
            with transaction(engine) as session:
                return ledger.place_hold(
                    session=session,
                    contract_id=contract_id,
                    ticket_id=ticket_id,
                    amount=Decimal(8),
                    at=start,
                )

        return place

    results, errors = _race(engine, contract_id, [hold(i) for i in ids])
    assert len(results) == 5
    assert len(errors) == 3
    assert all(isinstance(e, InsufficientBalanceError) for e in errors), errors
    with transaction(engine) as session:
        assert ledger.available(session=session, contract_id=contract_id) == Decimal(0)
        holds = ledger.open_holds(session=session, contract_id=contract_id)
        assert sorted(-h.amount for h in holds) == [Decimal(8)] * 5


def _charges(engine: Engine, start: datetime) -> None:
    contract_id, ids = _tickets(engine, start, 2)

    def charge(ticket_id: int) -> Callable[[], object]:
        def run() -> object:
            with transaction(engine) as session:
                return ledger.charge(
                    session=session,
                    contract_id=contract_id,
                    ticket_id=ticket_id,
                    amount=Decimal(30),
                    at=start,
                ).top_up_packs

        return run

    results, errors = _race(engine, contract_id, [charge(i) for i in ids])
    assert errors == []
    assert sorted(results) == [0, 2]  # 40 - 30 = 10; 10 - 30 = -20, two packs of 10
    with transaction(engine) as session:
        assert ledger.balance(session=session, contract_id=contract_id) == Decimal(0)
        rows = ledger.entries(session=session, contract_id=contract_id)
        assert sum(1 for r in rows if r.type is LedgerEntryType.TOP_UP) == 1
        charged = {r.ticket_id for r in rows if r.type is LedgerEntryType.CHARGE}
        assert charged == set(ids)
        assert len(session.exec(select(Ticket)).all()) == 2


def test_holds_racing_on_one_account_on_sqlite(engine: Engine, start: datetime) -> None:
    _holds(engine, start)


@pytest.mark.postgres
def test_holds_racing_on_one_account_on_postgres(pg: Engine, start: datetime) -> None:
    _holds(pg, start)


def test_charges_racing_to_a_top_up_on_sqlite(engine: Engine, start: datetime) -> None:
    _charges(engine, start)


@pytest.mark.postgres
def test_charges_racing_to_a_top_up_on_postgres(pg: Engine, start: datetime) -> None:
    _charges(pg, start)
