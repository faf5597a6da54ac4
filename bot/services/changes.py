"""Change requests the desk accepts or refuses at its discretion (Proximus 002).

"Le Service Desk l'examinera et décidera à sa discrétion s'il l'accepte ou non. En cas de
refus, le Service Desk justifie sa décision. Le Client est systématiquement avisé." A pack
with `desk_decides_changes` gets one decision per change ticket, taken under the ticket's row
lock; the customer is told either way, and a refused change ends the ticket without charge.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.db.models import Ticket, TicketEvent, TicketStatus
from bot.services import billing, notify
from bot.services.actors import Actor
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError
from bot.services.tickets import lock_ticket, record_event, refresh_sla

ACCEPTED = "change_accepted"
REFUSED = "change_refused"


def decision_of(*, session: Session, ticket: Ticket) -> str | None:
    """The desk's decision on a change ticket (`change_accepted`, `change_refused`), if any."""
    query = select(TicketEvent.type).where(
        TicketEvent.ticket_id == ticket.id,
        TicketEvent.type.in_((ACCEPTED, REFUSED)),  # type: ignore[attr-defined]
    )
    return session.exec(query).first()


def decide(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    accept: bool,
    now: datetime,
    reason: str = "",
) -> Ticket:
    """Accept or refuse (with a reason) a change request once; the customer is told."""
    if not actor.is_staff:
        raise AccessDeniedError("agents only")
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status not in TicketStatus.open_statuses():
        raise InvalidStateError(
            "ticket is not open", status=ticket.status.value, reference=ticket.reference
        )
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    if not pack.desk_decides_changes:
        raise InputError(f"pack {pack.id} has no change decision", reason="no_decision")
    if ticket.kind != "change":
        raise InputError(f"{ticket.reference} is not a change request", reason="not_change")
    if decision_of(session=session, ticket=ticket) is not None:
        raise InvalidStateError(
            "already decided", status=ticket.status.value, reference=ticket.reference
        )
    reason = reason.strip()
    if not accept and not reason:
        raise InputError("a refusal needs its reason", reason="reason")
    event = ACCEPTED if accept else REFUSED
    if ticket.responded_at is None:
        ticket.responded_at = now
    if accept:
        if ticket.status is TicketStatus.OPEN:
            ticket.status = TicketStatus.RESPONDED
    else:
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at = now
        billing.on_refused(session=session, ticket=ticket, pack=pack, actor=actor, now=now)
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    record_event(session=session, ticket=ticket, actor=actor, type=event, now=now, reason=reason)
    notify.emit(
        session=session,
        ticket=ticket,
        event=event,
        now=now,
        key=f"t{ticket.id}:{event}",
        params={"reason": reason},
    )
    return ticket
