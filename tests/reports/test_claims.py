"""Remedies still claimable are listed with their deadlines under /sla and in the report."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Claim, ClaimStatus, Contract
from tests.handlers.conftest import Chat, Clock


def add_claim(engine: Engine, *, deadline: date, status: str = ClaimStatus.OPEN.value) -> None:
    with transaction(engine) as session:
        contract = session.exec(
            select(Contract).where(Contract.pack_id == "proximus-internet")
        ).one()
        assert contract.id is not None
        session.add(
            Claim(
                key=f"test:{deadline.isoformat()}:{status}",
                tenant_id=contract.tenant_id,
                contract_id=contract.id,
                remedy_id="p1-service-credit",
                remedy_type="service_credit",
                clause="Article 5 — Compensation",
                period="2026-11",
                event_day=date(2026, 11, 18),
                amount=Decimal("150"),
                unit="eur",
                deadline=deadline,
                status=status,
            )
        )


def test_sla_lists_open_remedies_with_their_deadline(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    today = clock.now.date()
    add_claim(seeded, deadline=today + timedelta(days=30))
    add_claim(seeded, deadline=today - timedelta(days=1))  # too late to claim
    add_claim(seeded, deadline=today + timedelta(days=9), status=ClaimStatus.CLAIMED.value)
    manager = chat("demo-manager")
    manager.send("/lang en")
    answer = manager.send("/sla")
    assert "Remedies you can claim:" in answer
    assert "claim before 20 December 2026" in answer
    assert answer.count("claim before") == 1
    assert "Article 5" not in answer  # the French clause is not shown in English
