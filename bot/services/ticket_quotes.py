"""Requests on quote (a pack's non-routine path): the desk proposes a price, the customer
accepts or declines it; nothing is charged before, and resolution charges what was accepted.

The customer's answer is one guarded transition (`UPDATE … WHERE quote_status = 'proposed'`):
two answers at the same instant record one, the other is told it was already answered.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, col

from bot.db.models import Ticket, TicketStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError
from bot.services.tickets import lock_ticket, record_event

PROPOSED = "proposed"
ACCEPTED = "accepted"
DECLINED = "declined"
EUR = "eur"
MAX_QUOTE = Decimal(1_000_000)


def on_quote(ticket: Ticket, *, routine: bool) -> bool:
    """Whether a ticket is priced by a quote (its intervention is not routine)."""
    return not routine or ticket.quote_status is not None


def propose(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    amount: Decimal,
    unit: str,
    text: str,
    now: datetime,
) -> Ticket:
    """The desk proposes (or revises, before an answer) the price of a request on quote."""
    if not actor.is_staff:
        raise AccessDeniedError("agents only")
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status not in TicketStatus.open_statuses():
        raise InvalidStateError(
            "ticket is not open", status=ticket.status.value, reference=ticket.reference
        )
    if ticket.quote_status == ACCEPTED:  # a declined quote may be revised
        raise InvalidStateError(
            "quote already answered", status=ticket.quote_status, reference=ticket.reference
        )
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    if unit not in {EUR, pack.balance.unit.value}:
        raise InputError(f"unit {unit!r} is not euros or {pack.balance.unit.value}", reason="unit")
    if not Decimal(0) < amount < MAX_QUOTE:
        raise InputError("the quoted amount must be positive", reason="amount")
    ticket.quote_amount = amount
    ticket.quote_unit = unit
    ticket.quote_text = text.strip()[:1000]
    ticket.quote_status = PROPOSED
    session.add(ticket)
    record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="quote_proposed",
        now=now,
        changes={"amount": str(amount), "unit": unit},
        reason=ticket.quote_text,
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event="quote_proposed",
        now=now,
        key=f"t{ticket.id}:quote:{now.isoformat()}",
        params={"amount": str(amount), "unit": unit, "text": ticket.quote_text},
    )
    return ticket


def answer(
    *, session: Session, actor: Actor, ticket: Ticket, accept: bool, now: datetime
) -> Ticket:
    """The customer accepts or declines the proposed quote, once; the desk is told."""
    if actor.is_staff or actor.user.tenant_id is None:
        raise AccessDeniedError("the customer answers a quote")
    assert ticket.id is not None
    status = ACCEPTED if accept else DECLINED
    # The guarded transition: only a proposed quote can be answered, whoever comes first.
    result = session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.quote_status) == PROPOSED)
        .values(quote_status=status)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidStateError(
            "no quote to answer", status=ticket.quote_status or "", reference=ticket.reference
        )
    session.refresh(ticket)
    event = f"quote_{status}"
    record_event(session=session, ticket=ticket, actor=actor, type=event, now=now)
    params = {"amount": str(ticket.quote_amount), "unit": ticket.quote_unit or ""}
    notify.emit(
        session=session,
        ticket=ticket,
        event=event,
        now=now,
        key=f"t{ticket.id}:{event}",
        params=params,
    )
    return ticket
