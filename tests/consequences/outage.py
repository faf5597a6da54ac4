"""Helpers of the outage scenarios: tickets opened and resolved at given instants, managers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, Notification, Role, Tenant, Ticket
from bot.services import tickets, users


def contract_of(engine: Engine, pack_id: str) -> Contract:
    """The demo tenant's active contract on a pack."""
    with transaction(engine) as session:
        query = select(Contract).where(Contract.pack_id == pack_id, Contract.active == True)  # noqa: E712
        return session.exec(query).one()


def set_options(engine: Engine, pack_id: str, **options: str) -> None:
    """Add options to the demo contract of a pack (the order form's figures)."""
    with transaction(engine) as session:
        query = select(Contract).where(Contract.pack_id == pack_id, Contract.active == True)  # noqa: E712
        contract = session.exec(query).one()
        contract.options = {**contract.options, **options}
        session.add(contract)


def open_at(
    engine: Engine,
    *,
    pack_id: str,
    intervention: str,
    priority: str,
    now: datetime,
    kind: str = "incident",
    handle: str = "demo-requester",
) -> Ticket:
    """Open a ticket as a demo customer at `now`."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        query = select(Contract).where(Contract.pack_id == pack_id, Contract.active == True)  # noqa: E712
        return tickets.open_ticket(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            contract=session.exec(query).one(),
            intervention_id=intervention,
            kind=kind,
            priority=priority,
            description="outage",
            now=now,
        )


def resolve_at(engine: Engine, reference: str, now: datetime, handle: str = "demo-agent") -> None:
    """Resolve a ticket as a demo agent at `now` (30 minutes of work)."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        actor = tickets.actor_for(session=session, user=user)
        ticket = tickets.find_ticket(session=session, actor=actor, reference=reference)
        tickets.resolve(session=session, actor=actor, ticket=ticket, now=now, minutes=30)


def add_customer_manager(engine: Engine, handle: str, locale: str) -> None:
    """A manager of the demo customer, reachable on the console, speaking `locale`."""
    with transaction(engine) as session:
        tenant = session.exec(select(Tenant)).first()
        assert tenant is not None
        user = users.add_user(
            session=session,
            handle=handle,
            display_name=handle,
            role=Role.MANAGER,
            tenant_id=tenant.id,
        )
        user.locale = locale
        session.add(user)
        users.link_identity(session=session, user=user, channel="console", external_id=handle)


def told(engine: Engine, event: str, chat_id: str | None = None) -> list[str]:
    """The texts of the outbox rows of an event (to one chat, when given)."""
    with transaction(engine) as session:
        query = select(Notification).where(Notification.event == event)
        if chat_id is not None:
            query = query.where(Notification.chat_id == chat_id)
        return [n.text for n in session.exec(query.order_by(Notification.id)).all()]  # type: ignore[arg-type]
