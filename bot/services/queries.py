"""Reusable list reads: visibility, filters, ordering and LIMIT in one SQL query, which also
loads what a page shows of each ticket (its contract, customer and people): one statement per
page, whatever the number of tickets.

`/queue`, `/tickets` and the home tab use these; so can any list (search results, dashboards).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, and_, bindparam, true
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from bot.db.models import Contract, Tenant, Ticket, TicketStatus, User
from bot.services.actors import Actor, ticket_visibility
from bot.services.shapes import built, shape

Order = Literal["due", "newest", "oldest"]

#: `Session.info` key of the rows a page loaded with its tickets: the session holds loaded rows
#: weakly, this keeps them (for the session's one event) so `preloaded` finds them.
HELD = "queries.page_rows"
# Aliases: the visibility rule's own subquery on contracts must not correlate with the join.
_PageContract = aliased(Contract, name="page_contract")
_PageTenant = aliased(Tenant, name="page_tenant")
_Requester = aliased(User, name="page_requester")
_Owner = aliased(User, name="page_owner")


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
    its index); `newest` / `oldest` by logging instant. `limit` is capped at 500. The same
    statement loads each ticket's contract, customer, requester and owner into the session
    (held there: `preloaded` then reads nothing more).
    """
    conditions = list(where)
    if order == "due":
        # Open tickets only carry the key; `+ 0` keeps planners on the key's index.
        conditions += [
            col(Ticket.queue_due).is_not(None),
            ticket_visibility(actor, contract_id=col(Ticket.contract_id) + 0),
        ]
    else:
        conditions.append(ticket_visibility(actor))
        if open_only:
            conditions.append(col(Ticket.status).in_(TicketStatus.open_statuses()))
    # Built once per shape (conditions and their values, order): a call binds the page.
    statement = built(
        ("page", order, shape(and_(true(), *conditions))),
        lambda: _page_statement(conditions, order),
    )
    bounds = {"page_limit": min(max(limit, 0), 500), "page_offset": max(offset, 0)}
    rows = session.execute(statement, bounds).all()
    held: list[object] = session.info.setdefault(HELD, [])
    held.extend(party for row in rows for party in row[1:] if party is not None)
    return [row[0] for row in rows]


def _page_statement(conditions: Sequence[ColumnElement[bool]], order: Order) -> Any:
    """A page of the tickets meeting `conditions`, with each one's contract, customer and
    people; LIMIT and OFFSET bound at each call."""
    bounded = (
        select(Ticket)
        .where(*conditions)
        .order_by(*_ordering(Ticket, order))
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
        .subquery("page")
    )
    # The page first, then its parties joined to its rows only (not to every ticket the
    # ordering reads before its LIMIT).
    page = aliased(Ticket, bounded)
    return (
        sql_select(page, _PageContract, _PageTenant, _Requester, _Owner)
        .outerjoin(_PageContract, col(_PageContract.id) == col(page.contract_id))
        .outerjoin(_PageTenant, col(_PageTenant.id) == col(page.tenant_id))
        .outerjoin(_Requester, col(_Requester.id) == col(page.requester_id))
        .outerjoin(_Owner, col(_Owner.id) == col(page.owner_id))
        .order_by(*_ordering(page, order))
    )


def _ordering(ticket: Any, order: Order) -> Sequence[Any]:
    """The page's ordering on `ticket` (the table or the page's alias)."""
    if order == "due":
        return (col(ticket.queue_due), col(ticket.logged_at), col(ticket.id))
    logged, ticket_id = col(ticket.logged_at), col(ticket.id)
    return (logged.desc(), ticket_id.desc()) if order == "newest" else (logged, ticket_id)


def _absent(session: Session, model: type[Any], ids: set[int]) -> set[int]:
    """The ids of `model` rows not in the session yet."""
    return {i for i in ids if session.identity_map.get(identity_key(model, i)) is None}


@contextmanager
def preloaded(*, session: Session, tickets: Sequence[Ticket]) -> Iterator[None]:
    """Inside the block, the contracts, customers and people a page of tickets shows are in
    the session: `session.get` finds them without a query. Those its `visible_tickets` page
    loaded are there already (held until the block ends); the others take at most three
    statements.

    The session only holds loaded rows weakly; the block keeps them alive while a page renders.
    """
    held: list[object] = []
    if tickets:
        contracts = _absent(session, Contract, {ticket.contract_id for ticket in tickets})
        tenants = _absent(session, Tenant, {ticket.tenant_id for ticket in tickets})
        people = _absent(
            session,
            User,
            {ticket.requester_id for ticket in tickets}
            | {ticket.owner_id for ticket in tickets if ticket.owner_id is not None},
        )
        if contracts:
            held.extend(session.exec(select(Contract).where(col(Contract.id).in_(contracts))).all())
        if tenants:
            held.extend(session.exec(select(Tenant).where(col(Tenant.id).in_(tenants))).all())
        if people:
            held.extend(session.exec(select(User).where(col(User.id).in_(people))).all())
    try:
        yield
    finally:
        held.clear()
        session.info.pop(HELD, None)  # the page is shown: its rows may go
