"""The claim register: the P1 cap per month, claiming once, expiry and reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.db.models import Contract, Ticket
from bot.services import claims
from bot.services.contracts import terms_of
from bot.services.errors import InvalidStateError, NotFoundError
from tests.services.test_ledger import make_account, make_ticket

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _p1_ticket(session: object, contract_id: int, user_id: int) -> Ticket:
    ticket = session.get(Ticket, make_ticket(session, contract_id, user_id))  # type: ignore[attr-defined]
    assert ticket is not None
    ticket.intervention_id = "no-internet"
    ticket.kind = "incident"
    ticket.priority = "p1"
    return ticket


def test_p1_credits_respect_one_monthly_fee_per_month(engine: Engine) -> None:
    # Issue 15 item 2: three P1 breaches in November each announced "€ 100". The register
    # now offers the room left under "at most one monthly fee per month": 100, then 0, 0;
    # December starts a new month.
    offered: list[tuple[str, Decimal, date | None]] = []
    with transaction(engine) as session:
        contract_id, user_id = make_account(
            session,
            "proximus-internet",
            {"monthly_fee": "100"},
        )
        contract = session.get(Contract, contract_id)
        assert contract is not None
        contract.service_level = "internet-pro-plus:premium"
        terms = terms_of(session=session, contract=contract)
        for day in (date(2026, 11, 3), date(2026, 11, 17), date(2026, 11, 30), date(2026, 12, 1)):
            ticket = _p1_ticket(session, contract_id, user_id)
            claim = claims.p1_service_credit(
                session=session,
                ticket=ticket,
                contract=contract,
                terms=terms,
                breach_day=day,
                now=NOW,
            )
            assert claim is not None
            offered.append((claim.period, claim.amount, claim.deadline))
        again = claims.p1_service_credit(
            session=session,
            ticket=ticket,
            contract=contract,
            terms=terms,
            breach_day=date(2026, 12, 1),
            now=NOW,
        )
        assert again is not None
        assert again.amount == Decimal(100)  # idempotent per ticket
    assert offered == [
        ("2026-11", Decimal(100), date(2027, 2, 28)),
        ("2026-11", Decimal(0), date(2027, 2, 28)),
        ("2026-11", Decimal(0), date(2027, 2, 28)),
        ("2026-12", Decimal(100), date(2027, 3, 31)),
    ]


def test_a_claim_is_marked_claimed_once_and_expires_unclaimed(engine: Engine) -> None:
    with transaction(engine) as session:
        contract_id, user_id = make_account(session, "proximus-internet", {"monthly_fee": "80"})
        contract = session.get(Contract, contract_id)
        assert contract is not None
        contract.service_level = "internet-pro:default"
        terms = terms_of(session=session, contract=contract)
        first = claims.p1_service_credit(
            session=session,
            ticket=_p1_ticket(session, contract_id, user_id),
            contract=contract,
            terms=terms,
            breach_day=date(2026, 12, 24),
            now=NOW,
        )
        second = claims.p1_service_credit(
            session=session,
            ticket=_p1_ticket(session, contract_id, user_id),
            contract=contract,
            terms=terms,
            breach_day=date(2027, 1, 4),
            now=NOW,
        )
        assert first is not None
        assert second is not None
        assert first.id is not None
        assert second.id is not None
        with pytest.raises(NotFoundError):
            claims.mark_claimed(
                session=session, claim_id=first.id, tenant_id=contract.tenant_id + 99, now=NOW
            )
        claimed = claims.mark_claimed(
            session=session, claim_id=first.id, tenant_id=contract.tenant_id, now=NOW
        )
        assert claimed.status == "claimed"
        with pytest.raises(InvalidStateError):
            claims.mark_claimed(
                session=session, claim_id=first.id, tenant_id=contract.tenant_id, now=NOW
            )
        # Reminders: the January breach may be claimed until 30 April 2027; it is 60 days
        # away on 1 March, 29 days on 1 April (the 30-day reminder), 6 on 24 April (7-day).
        assert [
            (c.id, d) for c, d in claims.reminders_due(session=session, today=date(2027, 3, 1))
        ] == []
        due = claims.reminders_due(session=session, today=date(2027, 4, 1))
        assert [(c.id, d) for c, d in due] == [(second.id, 30)]
        claims.mark_reminded(session=session, claim=second, days=30)
        assert claims.reminders_due(session=session, today=date(2027, 4, 2)) == []
        due = claims.reminders_due(session=session, today=date(2027, 4, 24))
        assert [(c.id, d) for c, d in due] == [(second.id, 7)]
        assert claims.expire(session=session, today=date(2027, 5, 1)) == 1
        session.refresh(second)
        assert second.status == "expired"
        assert claimed.status == "claimed"
