"""Who works a ticket, and what agents write on it: owner, internal notes, public replies."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db.models import Role, Ticket, TicketStatus, User
from bot.services import desk, notify, tickets
from bot.services.actors import Actor, actor_for
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError, NotFoundError
from bot.services.users import get_user_by_handle

MAX_NOTE = 3000


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise AccessDeniedError("agents only")


def assignable(*, session: Session, ticket: Ticket, user: User) -> bool:
    """Whether `user` is an agent of the ticket's provider (the only people who may own it)."""
    if user.role is not Role.AGENT or user.tenant_id is not None:
        return False
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    return pack.provider_code in actor_for(session=session, user=user).providers


def assign(*, session: Session, actor: Actor, ticket: Ticket, owner: User, now: datetime) -> Ticket:
    """Make `owner` (an agent of the ticket's provider) the ticket's owner."""
    _require_staff(actor)
    ticket = tickets.lock_ticket(session=session, ticket=ticket)
    if ticket.status not in TicketStatus.open_statuses():
        raise InvalidStateError(
            "ticket is not open", status=ticket.status.value, reference=ticket.reference
        )
    if not assignable(session=session, ticket=ticket, user=owner):
        raise AccessDeniedError("not an agent of this provider", handle=owner.handle)
    assert owner.id is not None
    if ticket.owner_id == owner.id:
        raise InputError("already the owner", owner=owner.display_name)
    previous = ticket.owner_id
    ticket.owner_id = owner.id
    ticket.updated_at = now
    session.add(ticket)
    tickets.record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="assigned",
        now=now,
        changes={"owner": [previous, owner.id]},
    )
    if owner.id != actor.id:
        notify.emit(
            session=session,
            ticket=ticket,
            event="assigned",
            now=now,
            key=f"t{ticket.id}:assigned:{now.isoformat()}:{owner.id}",
            params={"by": actor.user.display_name},
        )
    verb = "take" if owner.id == actor.id else "assign"
    desk.publish_state(
        session=session, ticket=ticket, now=now, by=actor.user.display_name, verb=verb
    )
    return ticket


def assign_handle(
    *, session: Session, actor: Actor, ticket: Ticket, handle: str, now: datetime
) -> Ticket:
    """`/assign REF HANDLE`: the agent with this handle becomes the owner."""
    user = get_user_by_handle(session=session, handle=handle.strip().lstrip("@"))
    if user is None:
        raise NotFoundError("no such agent", handle=handle)
    return assign(session=session, actor=actor, ticket=ticket, owner=user, now=now)


def take(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """`/take REF`: I become the owner."""
    return assign(session=session, actor=actor, ticket=ticket, owner=actor.user, now=now)


def add_note(*, session: Session, actor: Actor, ticket: Ticket, text: str, now: datetime) -> None:
    """An internal note: in the timeline for staff, never sent to the customer."""
    _require_staff(actor)
    if not text.strip():
        raise InputError("empty note")
    tickets.record_event(
        session=session, ticket=ticket, actor=actor, type="note", now=now, reason=text[:MAX_NOTE]
    )
    session.flush()


def owner_name(*, session: Session, ticket: Ticket) -> str | None:
    """The owner's display name (None while unassigned)."""
    if ticket.owner_id is None:
        return None
    owner = session.get(User, ticket.owner_id)
    return None if owner is None else owner.display_name
