"""The claim register: every remedy a customer may claim from its provider, and its life.

A claim is recorded once per fact (its ``key``: a ticket's missed target, a contract's
period), with the clause, the period, the amount, the deadline and a status: ``open``
(claimable), ``claimed`` (the customer sent it), ``granted`` (applied, e.g. a Telenet waiver
written by billing), ``expired`` (the deadline passed while open). Caps that bind a period
(Proximus: at most one monthly fee of P1 credits per month) are computed from the register,
so the second breach of a month only offers the room left under the cap.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.db.models import Claim, ClaimStatus, Contract, Ticket

__all__ = ["REMINDER_DAYS", "ClaimStatus"]
from bot.services.errors import InvalidStateError, NotFoundError
from pricing.remedies import RemedyResult, find_remedy, service_credit_per_breach
from pricing.terms import ContractTerms

#: Days before a deadline when the customer's managers are reminded.
REMINDER_DAYS = (30, 7)


def month_label(day: date) -> str:
    """The period label of a month: ``2026-11``."""
    return f"{day.year:04d}-{day.month:02d}"


def get(*, session: Session, key: str) -> Claim | None:
    """The claim recorded under ``key``, if any."""
    return session.exec(select(Claim).where(Claim.key == key)).first()


def record(
    *,
    session: Session,
    key: str,
    contract: Contract,
    result: RemedyResult,
    remedy_type: str,
    period: str,
    event_day: date,
    ticket: Ticket | None = None,
    facts: dict[str, str] | None = None,
    status: ClaimStatus = ClaimStatus.OPEN,
    now: datetime,
) -> Claim:
    """Record a remedy once under ``key`` (a second call returns the first record)."""
    existing = get(session=session, key=key)
    if existing is not None:
        return existing
    assert contract.id is not None
    claim = Claim(
        key=key,
        tenant_id=contract.tenant_id,
        contract_id=contract.id,
        ticket_id=None if ticket is None else ticket.id,
        remedy_id=result.remedy_id,
        remedy_type=remedy_type,
        clause=result.clause,
        period=period,
        event_day=event_day,
        amount=result.amount,
        unit=result.unit,
        facts={"basis": result.basis, **(facts or {})},
        deadline=result.claim_deadline,
        status=status.value,
        created_at=now,
    )
    session.add(claim)
    session.flush()
    return claim


def recorded_in_period(
    *, session: Session, contract_id: int, remedy_id: str, period: str, exclude_key: str = ""
) -> Decimal:
    """What the register already offers for a remedy in a period (expired claims excluded)."""
    rows = session.exec(
        select(Claim).where(
            Claim.contract_id == contract_id,
            Claim.remedy_id == remedy_id,
            Claim.period == period,
            Claim.status != ClaimStatus.EXPIRED.value,
            Claim.key != exclude_key,
        )
    ).all()
    return sum((row.amount for row in rows), Decimal(0))


def p1_service_credit(
    *,
    session: Session,
    ticket: Ticket,
    contract: Contract,
    terms: ContractTerms,
    breach_day: date,
    now: datetime,
) -> Claim | None:
    """The service credit a missed P1 restoration offers: the room left under the month's cap.

    Recorded in the register (idempotent per ticket); None when the contract has no such
    remedy or no monthly fee to compute it on.
    """
    remedies = [
        r
        for r in terms.remedies_for(target="resolution", kind=ticket.kind, priority=ticket.priority)
        if r.type == "service_credit_per_breach"
    ]
    fee = terms.monthly_fee
    if not remedies or fee is None or contract.id is None:
        return None
    remedy = find_remedy(terms.pack, "service_credit_per_breach", remedies[0].id)
    key = f"{remedy.id}:ticket:{ticket.id}"
    existing = get(session=session, key=key)
    if existing is not None:
        return existing
    period = month_label(breach_day)
    granted = recorded_in_period(
        session=session, contract_id=contract.id, remedy_id=remedy.id, period=period
    )
    result = service_credit_per_breach(
        remedy=remedy,
        monthly_fee=fee,
        breaches=1,
        breach_day=breach_day,
        already_granted=granted,
    )
    return record(
        session=session,
        key=key,
        contract=contract,
        result=result,
        remedy_type=remedy.type,
        period=period,
        event_day=breach_day,
        ticket=ticket,
        facts={"ticket": ticket.reference, "monthly_fee": str(fee), "earlier": str(granted)},
        now=now,
    )


def list_claims(
    *, session: Session, tenant_id: int | None = None, status: str | None = None
) -> list[Claim]:
    """Claims, newest first, for one tenant or all, optionally of one status."""
    query = select(Claim).order_by(col(Claim.created_at).desc(), col(Claim.id).desc())
    if tenant_id is not None:
        query = query.where(Claim.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Claim.status == status)
    return list(session.exec(query).all())


def mark_claimed(*, session: Session, claim_id: int, tenant_id: int, now: datetime) -> Claim:
    """Mark an open claim of the tenant as sent to the provider (guarded: once only)."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.tenant_id != tenant_id:
        raise NotFoundError(f"no claim {claim_id}", claim=claim_id)
    result = session.execute(
        update(Claim)
        .where(col(Claim.id) == claim_id, col(Claim.status) == ClaimStatus.OPEN.value)
        .values(status=ClaimStatus.CLAIMED.value, claimed_at=now)
    )
    won = int(result.rowcount)  # type: ignore[attr-defined]
    if not won:
        session.refresh(claim)
        raise InvalidStateError(f"claim {claim_id} is {claim.status}", status=claim.status)
    session.refresh(claim)
    return claim


def expire(*, session: Session, today: date) -> int:
    """Open claims whose deadline has passed become expired; returns how many."""
    result = session.execute(
        update(Claim)
        .where(
            col(Claim.status) == ClaimStatus.OPEN.value,
            col(Claim.deadline).is_not(None),
            col(Claim.deadline) < today,
        )
        .values(status=ClaimStatus.EXPIRED.value)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def reminders_due(*, session: Session, today: date) -> list[tuple[Claim, int]]:
    """Open claims whose deadline is 30 or 7 days away (or closer) and not yet reminded."""
    due: list[tuple[Claim, int]] = []
    query = select(Claim).where(
        Claim.status == ClaimStatus.OPEN.value, col(Claim.deadline).is_not(None)
    )
    for claim in session.exec(query).all():
        assert claim.deadline is not None
        left = (claim.deadline - today).days
        if left < 0:
            continue
        pending = [d for d in REMINDER_DAYS if left <= d and d not in claim.reminders]
        if pending:
            due.append((claim, min(pending)))
    return due


def mark_reminded(*, session: Session, claim: Claim, days: int) -> None:
    """Record that the reminder ``days`` before the deadline (and earlier ones) was sent."""
    claim.reminders = sorted({*claim.reminders, *(d for d in REMINDER_DAYS if d >= days)})
    session.add(claim)


def raise_amount(
    *, session: Session, claim: Claim, amount: Decimal, facts: dict[str, str] | None = None
) -> Claim:
    """Raise an open claim to a larger amount (more downtime in its period); else unchanged."""
    if claim.status != ClaimStatus.OPEN.value or amount <= claim.amount:
        return claim
    claim.amount = amount
    claim.facts = {**claim.facts, **(facts or {})}
    session.add(claim)
    session.flush()
    return claim
