"""Billing asks the contract's terms: the account kind, and whether a waiver covers a miss."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.db.engine import transaction
from bot.db.models import Contract, Ticket, User
from bot.services import billing, ledger
from bot.services.tickets import Actor
from pricing.loader import get_pack
from pricing.schema import ContractPack
from tests.services.test_ledger import LOGGED, make_account, make_ticket


def resolution_only_waiver() -> ContractPack:
    """Telenet hosting & cloud whose waiver covers a missed resolution only."""
    pack = get_pack("telenet-hosting-cloud")
    remedies = [
        remedy.model_copy(update={"applies_to": {"target": ["resolution"]}})
        if remedy.type == "waiver"
        else remedy
        for remedy in pack.remedies
    ]
    return pack.model_copy(update={"remedies": remedies})


def _resolve(
    session: Session, pack: ContractPack, *, response_missed: bool, resolution_missed: bool
) -> billing.ChargeOutcome:
    contract_id, user_id = make_account(session)
    ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(40), at=LOGGED)
    ticket = session.get(Ticket, make_ticket(session, contract_id, user_id))
    contract = session.get(Contract, contract_id)
    user = session.get(User, user_id)
    assert ticket is not None
    assert contract is not None
    assert user is not None
    ticket.response_breached = response_missed
    ticket.resolution_breached = resolution_missed
    return billing.on_resolve(
        session=session,
        ticket=ticket,
        contract=contract,
        pack=pack,
        actor=Actor(user=user),
        minutes=30,
        now=LOGGED + timedelta(days=3),
    )


def test_a_resolution_only_waiver_does_not_waive_a_missed_response(engine: Engine) -> None:
    with transaction(engine) as session:
        outcome = _resolve(
            session, resolution_only_waiver(), response_missed=True, resolution_missed=False
        )
    assert outcome.charged > 0
    assert outcome.waived == 0


def test_a_resolution_only_waiver_waives_a_missed_resolution(engine: Engine) -> None:
    with transaction(engine) as session:
        outcome = _resolve(
            session, resolution_only_waiver(), response_missed=True, resolution_missed=True
        )
    assert outcome.charged == 0
    assert outcome.waived > 0


@pytest.mark.parametrize(
    ("response_missed", "resolution_missed", "waived"),
    [(True, False, True), (False, True, True), (False, False, False)],
)
def test_the_shipped_waiver_covers_either_target(
    engine: Engine, response_missed: bool, resolution_missed: bool, waived: bool
) -> None:
    pack = get_pack("telenet-hosting-cloud")
    with transaction(engine) as session:
        outcome = _resolve(
            session, pack, response_missed=response_missed, resolution_missed=resolution_missed
        )
    assert (outcome.waived > 0) is waived
    assert (outcome.charged > 0) is not waived


def test_missed_targets_reads_the_ticket_flags() -> None:
    ticket = Ticket(response_breached=True, resolution_breached=False)
    assert billing.missed_targets(ticket) == {"response"}
    ticket.resolution_breached = True
    assert billing.missed_targets(ticket) == {"response", "resolution"}


ALTEO_FREE_AND_ON_REQUEST = [
    ("service-outage", "critical", "free"),
    ("hardware-failure", "major", "free"),
    ("penalty-claim", "minor", None),
    ("general-question", "minor", None),
    ("quote-request", "minor", None),
]


@pytest.mark.parametrize(("intervention", "priority", "rule"), ALTEO_FREE_AND_ON_REQUEST)
@pytest.mark.parametrize("minutes", [0, 40])
def test_alteo_free_and_on_request_work_never_draws_the_time_bank(
    engine: Engine, intervention: str, priority: str, rule: str | None, minutes: int
) -> None:
    # Issue 15 item 1: every Alteo ticket used to draw at least 15 minutes at resolution.
    pack = get_pack("alteo-hosting")
    if rule is not None:
        prices = next(
            i for c in pack.categories for i in c.interventions if i.id == intervention
        ).prices
        assert prices[priority].rule.value == rule
    with transaction(engine) as session:
        contract_id, user_id = make_account(
            session, "alteo-hosting", {"monthly_allowance_hours": "2"}
        )
        ticket = session.get(Ticket, make_ticket(session, contract_id, user_id))
        contract = session.get(Contract, contract_id)
        user = session.get(User, user_id)
        assert ticket is not None
        assert contract is not None
        assert user is not None
        ticket.intervention_id = intervention
        ticket.priority = priority
        outcome = billing.on_resolve(
            session=session,
            ticket=ticket,
            contract=contract,
            pack=pack,
            actor=Actor(user=user),
            minutes=minutes,
            now=LOGGED + timedelta(days=1),
        )
        charges = [
            e
            for e in ledger.entries(session=session, contract_id=contract_id)
            if e.type.value == "charge"
        ]
    assert outcome.charged == 0
    assert outcome.rule.value in {"free", "on_request"}
    assert charges == []


def test_alteo_paid_work_still_draws_with_the_quarter_hour_minimum(engine: Engine) -> None:
    pack = get_pack("alteo-hosting")
    with transaction(engine) as session:
        contract_id, user_id = make_account(
            session, "alteo-hosting", {"monthly_allowance_hours": "2"}
        )
        ticket = session.get(Ticket, make_ticket(session, contract_id, user_id))
        contract = session.get(Contract, contract_id)
        user = session.get(User, user_id)
        assert ticket is not None
        assert contract is not None
        assert user is not None
        ticket.intervention_id = "optimisation"
        ticket.priority = "minor"
        outcome = billing.on_resolve(
            session=session,
            ticket=ticket,
            contract=contract,
            pack=pack,
            actor=Actor(user=user),
            minutes=5,
            now=LOGGED + timedelta(days=1),
        )
    assert (outcome.unit, outcome.charged) == ("hours", Decimal("0.25"))
