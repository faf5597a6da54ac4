"""Reusable list reads: visibility, filters, ordering and LIMIT in one SQL query, then the rows
a page shows loaded in a fixed number of statements (whatever the number of tickets).

`/queue`, `/tickets` and the home tab use these; so can any list (search results, dashboards).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from bot.db.models import Contract, Tenant, Ticket, TicketStatus, User
from bot.services.actors import Actor, ticket_visibility

Order = Literal["due", "newest", "oldest"]


def visible_tickets(
    *,
    session: Session,
    actor: Actor,
    where: Iterable[ColumnElement[bool]] = (),
    open_only: bool = True,
    order: Order = "newest",
    limit: int = 20,
    offset: int = 0,
) -> list[Ticket]:
    """One page of the tickets `actor` may see, filtered by `where`, in one statement.

    `due` orders open tickets by their stored queue key (nearest pending due first, through
    its index); `newest` / `oldest` by logging instant. `limit` is capped at 500.
    """
    query = select(Ticket).where(*where)
    if order == "due":
        # Open tickets only carry the key; `+ 0` keeps planners on the key's index.
        query = query.where(
            col(Ticket.queue_due).is_not(None),
            ticket_visibility(actor, contract_id=col(Ticket.contract_id) + 0),
        )
        ordering: Sequence[Any] = (col(Ticket.queue_due), col(Ticket.logged_at), col(Ticket.id))
    else:
        query = query.where(ticket_visibility(actor))
        if open_only:
            query = query.where(col(Ticket.status).in_(TicketStatus.open_statuses()))
        logged = col(Ticket.logged_at)
        newest = (logged.desc(), col(Ticket.id).desc())
        ordering = newest if order == "newest" else (logged, col(Ticket.id))
    bounded = query.order_by(*ordering).offset(max(offset, 0)).limit(min(max(limit, 0), 500))
    return list(session.exec(bounded).all())


@contextmanager
def preloaded(*, session: Session, tickets: Sequence[Ticket]) -> Iterator[None]:
    """Inside the block, the contracts, customers and people a page of tickets shows are in
    the session (three statements in all): `session.get` finds them without a query.

    The session only holds loaded rows weakly; the block keeps them alive while a page renders.
    """
    held: list[object] = []
    if tickets:
        contracts = {ticket.contract_id for ticket in tickets}
        tenants = {ticket.tenant_id for ticket in tickets}
        people = {ticket.requester_id for ticket in tickets} | {
            ticket.owner_id for ticket in tickets if ticket.owner_id is not None
        }
        held.extend(session.exec(select(Contract).where(col(Contract.id).in_(contracts))).all())
        held.extend(session.exec(select(Tenant).where(col(Tenant.id).in_(tenants))).all())
        held.extend(session.exec(select(User).where(col(User.id).in_(people))).all())
    try:
        yield
    finally:
        held.clear()
