"""Shared steps of the claim and certificate scenarios: customer managers, tickets, breaches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, Role, Tenant, Ticket
from bot.services import demo, tickets, users
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher


def add_customer_manager(engine: Engine, handle: str, locale: str) -> None:
    """A manager of the demo customer, reachable on the console, reading `locale`."""
    with transaction(engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == demo.DEMO_TENANT)).one()
        user = users.add_user(
            session=session,
            handle=handle,
            display_name=handle.replace("-", " ").title(),
            role=Role.MANAGER,
            tenant_id=tenant.id,
            locale=locale,
        )
        users.link_identity(session=session, user=user, channel="console", external_id=handle)


def open_as(
    engine: Engine,
    *,
    pack_id: str,
    intervention: str,
    priority: str,
    now: datetime,
    kind: str = "incident",
    handle: str = "demo-requester",
) -> str:
    """Open a ticket on the demo customer's contract of `pack_id`; returns its reference."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        contract = session.exec(
            select(Contract).where(Contract.pack_id == pack_id, Contract.active == True)  # noqa: E712
        ).one()
        ticket = tickets.open_ticket(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            contract=contract,
            intervention_id=intervention,
            kind=kind,
            priority=priority,
            description="scenario",
            now=now,
        )
        return ticket.reference


def run_milestones(engine: Engine, settings: Settings, at: datetime) -> int:
    """Fire every SLA milestone due by `at` (breaches record claims and tell customers)."""
    return Dispatcher(engine=engine, settings=settings, clock=ManualClock(at)).dispatch_due()


def ticket(engine: Engine, reference: str) -> Ticket:
    """A ticket by reference, detached."""
    with transaction(engine) as session:
        return session.exec(select(Ticket).where(Ticket.reference == reference)).one()
