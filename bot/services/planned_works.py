"""Announcing and cancelling planned maintenance, with the clocks it stops moved at once.

`maintenance.add` and `maintenance.cancel` keep the window and tell the customers; where
the pack makes announced maintenance a stop-clock cause (Proximus "travaux planifiés"), the
open tickets of the customers it affects get their due instants and milestones recomputed in
the same transaction, under each ticket's row lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.db.models import Contract, MaintenanceWindow, Ticket, TicketStatus
from bot.services import maintenance
from bot.services.tickets import lock_ticket, refresh_sla
from pricing.loader import load_packs


def announce(
    *,
    session: Session,
    provider_code: str,
    starts_at: datetime,
    minutes: int,
    services: str,
    now: datetime,
    tenant_slugs: list[str] | None = None,
    emergency: bool = False,
    actor_id: int | None = None,
) -> MaintenanceWindow:
    """Announce a window (notice rules, customers told) and move the clocks it stops."""
    window = maintenance.add(
        session=session,
        provider_code=provider_code,
        starts_at=starts_at,
        minutes=minutes,
        services=services,
        tenant_slugs=tenant_slugs,
        emergency=emergency,
        now=now,
        actor_id=actor_id,
    )
    refresh_stopped(session=session, window=window, now=now)
    return window


def cancel(*, session: Session, window_id: int, now: datetime) -> MaintenanceWindow:
    """Cancel a window (customers told) and give back the clock time it would have stopped."""
    window = maintenance.cancel(session=session, window_id=window_id, now=now)
    session.flush()
    refresh_stopped(session=session, window=window, now=now)
    return window


def refresh_stopped(*, session: Session, window: MaintenanceWindow, now: datetime) -> int:
    """Recompute the open tickets whose clocks the window stops; returns how many."""
    packs = [
        pack
        for pack in load_packs().values()
        if pack.provider_code == window.provider_code
        and any(cause.planned_maintenance for cause in pack.stop_clock.causes)
    ]
    if not packs:
        return 0
    by_id = {pack.id: pack for pack in packs}
    query = (
        select(Ticket, Contract.pack_id)
        .join(Contract, col(Contract.id) == Ticket.contract_id)
        .where(
            col(Contract.pack_id).in_(list(by_id)),
            col(Ticket.status).in_(TicketStatus.open_statuses()),
            col(Ticket.logged_at) < window.ends_at,
        )
    )
    if window.tenant_ids:
        query = query.where(col(Ticket.tenant_id).in_(window.tenant_ids))
    count = 0
    for ticket, pack_id in session.exec(query).all():
        locked = lock_ticket(session=session, ticket=ticket)
        refresh_sla(session=session, ticket=locked, pack=by_id[pack_id], now=now)
        session.add(locked)
        count += 1
    return count
