"""Two customer managers sending `/claimed` for the same claim at once: exactly one records
it (with its instant), the other is told it was already recorded.

On PostgreSQL both are held behind a third transaction's lock on the claim's row until both
wait on it, so they really run at the same time; SQLite serialises them (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Claim, Contract, Notification
from bot.services import claims, demo, reminders
from bot.settings import Settings
from handlers.core import handle_event
from handlers.model import InboundEvent
from pricing.loader import get_pack
from pricing.remedies import RemedyResult
from tests.consequences.claimkit import add_customer_manager
from tests.worker.conftest import PostgresServer
from tests.worker.races import wait_for_waiters

AT = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)  # Easter Monday, the day after the DST change


def _seed(engine: Engine) -> int:
    with transaction(engine) as session:
        demo.seed(session=session, now=datetime(2026, 12, 1, tzinfo=UTC))
    add_customer_manager(engine, "boss-fr", "fr")
    add_customer_manager(engine, "chef-nl", "nl")
    remedy = next(r for r in get_pack("proximus-internet").remedies if r.type.startswith("serv"))
    with transaction(engine) as session:
        contract = session.exec(
            select(Contract).where(Contract.pack_id == "proximus-internet")
        ).one()
        claim = claims.record(
            session=session,
            key="race",
            contract=contract,
            result=RemedyResult(
                amount=Decimal(150),
                unit="eur",
                basis="P1 breach",
                clause=remedy.clause,
                claim_deadline=date(2027, 3, 31),
                remedy_id=remedy.id,
            ),
            remedy_type=remedy.type,
            period="2026-12",
            event_day=date(2026, 12, 24),
            now=AT,
        )
        assert claim.id is not None
        return claim.id


def _race(engine: Engine, claim_id: int, *, hold: bool) -> list[str]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    answers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def claimed(handle: str) -> None:
        try:
            barrier.wait()
            event = InboundEvent(
                channel="console",
                chat_id=handle,
                user_external_id=handle,
                received_at=AT,
                text=f"/claimed {claim_id}",
            )
            with transaction(engine) as session:
                outcome = handle_event(session=session, event=event, settings=settings)
            answers.append(outcome.refusal.text if outcome.refusal else "recorded")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=claimed, args=(h,)) for h in ("boss-fr", "chef-nl")]
    for thread in threads:
        thread.start()
    if hold:
        with engine.connect() as blocker:
            blocker.execute(
                text("SELECT id FROM claims WHERE id = :id FOR UPDATE"), {"id": claim_id}
            )
            barrier.wait()
            wait_for_waiters(engine, len(threads))
            blocker.commit()
    else:
        barrier.wait()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


def _check(engine: Engine, claim_id: int, answers: list[str]) -> None:
    assert answers.count("recorded") == 1
    refused = next(a for a in answers if a != "recorded")
    assert refused in (
        f"La réclamation n°{claim_id} est déjà enregistrée comme envoyée.",
        f"Claim nr. {claim_id} is al als verstuurd geregistreerd.",
    )
    with transaction(engine) as session:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        assert claim.status == "claimed"
        assert claim.claimed_at == AT


def test_two_managers_claiming_at_once_on_sqlite(engine: Engine) -> None:
    claim_id = _seed(engine)
    _check(engine, claim_id, _race(engine, claim_id, hold=False))


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_managers_claiming_at_once_on_postgres(pg: Engine) -> None:
    claim_id = _seed(pg)
    _check(pg, claim_id, _race(pg, claim_id, hold=True))


def _passes_together(engine: Engine, at: datetime) -> int:
    """Two workers' reminder passes at the same instant; returns the messages written."""
    written: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def one_pass() -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                written.append(
                    reminders.send_claim_reminders(
                        session=session,
                        now=at,
                        settings=Settings(_env_file=None),  # type: ignore[call-arg]
                    )
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return sum(written)


@pytest.mark.postgres
def test_two_workers_send_each_claim_reminder_once_on_postgres(pg: Engine) -> None:
    _seed(pg)
    # 1 March 2027: 30 days before the 31 March deadline; two managers, one message each.
    assert _passes_together(pg, datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) == 2
    assert _passes_together(pg, datetime(2027, 3, 1, 10, 0, tzinfo=UTC)) == 0
    with transaction(pg) as session:
        rows = session.exec(select(Notification).where(Notification.event == "claim_reminder"))
        assert sorted(n.lang for n in rows.all()) == ["fr", "nl"]
