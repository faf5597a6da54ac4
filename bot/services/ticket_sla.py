"""A ticket's two SLA clocks (response, resolution), built from its pack and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.db.models import MaintenanceWindow, Ticket, TicketPause
from bot.services.contracts import terms_for_ticket
from bot.sla.clock import (
    DEFAULT_FRACTIONS,
    ClockState,
    NoTargetEntryError,
    ResolvedTargets,
    SlaClock,
    build_clock,
    targets_for,
)
from bot.sla.rules import Pause
from pricing.schema import ContractPack
from pricing.terms import ContractTerms, pack_zone


@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of a ticket at one instant, with the targets they come from."""

    targets: ResolvedTargets
    response: SlaClock | None
    resolution: SlaClock | None

    @property
    def breached(self) -> bool:
        """Whether either target is missed."""
        return any(
            clock is not None and clock.state is ClockState.BREACHED
            for clock in (self.response, self.resolution)
        )


def pauses_of(*, session: Session, ticket_id: int) -> list[TicketPause]:
    """A ticket's stop-clock intervals, oldest first."""
    query = (
        select(TicketPause)
        .where(TicketPause.ticket_id == ticket_id)
        .order_by(TicketPause.started_at)  # type: ignore[arg-type]
    )
    return list(session.exec(query).all())


def maintenance_stops(*, session: Session, pack: ContractPack, ticket: Ticket) -> list[TicketPause]:
    """Announced maintenance of the ticket's provider as stop-clocks, where the pack says so.

    A pack whose stop-clock causes include one marked `planned_maintenance` (Proximus:
    "travaux planifiés") stops the clocks of the customers a window affects, for the
    window's length, under that cause; nothing is stored, so a cancelled window stops nothing.
    """
    cause = next((c for c in pack.stop_clock.causes if c.planned_maintenance), None)
    if cause is None:
        return []
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.provider_code == pack.provider_code,
        col(MaintenanceWindow.cancelled_at).is_(None),
        col(MaintenanceWindow.ends_at) > ticket.logged_at,
    )
    if ticket.resolved_at is not None:
        query = query.where(col(MaintenanceWindow.starts_at) < ticket.resolved_at)
    stops = ",".join(pack.stop_clock.targets)
    return [
        TicketPause(
            ticket_id=ticket.id or 0,
            started_at=window.starts_at,
            ended_at=window.ends_at,
            reason=window.services,
            cause=cause.id,
            stops=stops,
        )
        for window in session.exec(query).all()
        if not window.tenant_ids or ticket.tenant_id in window.tenant_ids
    ]


def clocks_for(
    *,
    pack: ContractPack,
    ticket: Ticket,
    pauses: Sequence[TicketPause],
    now: datetime,
    fractions: Sequence[Decimal] = DEFAULT_FRACTIONS,
    terms: ContractTerms | None = None,
) -> TicketClocks:
    """The ticket's clocks at `now` (the response is met when responded, or resolved)."""
    try:
        targets = targets_for(
            pack,
            kind=ticket.kind,
            priority=ticket.priority,
            service_level=ticket.service_level,
            intervention=ticket.intervention_id,
            terms=terms,
        )
    except NoTargetEntryError:
        # The contract sets no time for this kind (e.g. Proximus changes): no clock runs.
        targets = ResolvedTargets(
            response=None,
            resolution=None,
            service_level=ticket.service_level,
            clause=None,
            display_zone=pack_zone(pack),
        )

    def spans(target: str) -> tuple[Pause, ...]:
        # A pause stops only the targets the contract lets it stop (older rows: both).
        return tuple(
            Pause(start=p.started_at, end=p.ended_at, reason=p.reason)
            for p in pauses
            if p.stops is None or target in p.stops.split(",")
        )

    response_met = ticket.responded_at or ticket.resolved_at
    response = resolution = None
    if targets.response is not None:
        response = build_clock(
            logged_at=ticket.logged_at,
            rule=targets.response.rule,
            calendar=targets.response.calendar,
            pauses=spans("response"),
            met_at=response_met,
            now=now,
            fractions=fractions,
        )
    if targets.resolution is not None:
        resolution = build_clock(
            logged_at=ticket.logged_at,
            rule=targets.resolution.rule,
            calendar=targets.resolution.calendar,
            pauses=spans("resolution"),
            met_at=ticket.resolved_at,
            now=now,
            fractions=fractions,
        )
    return TicketClocks(targets=targets, response=response, resolution=resolution)


def ticket_clocks(
    *,
    session: Session,
    ticket: Ticket,
    now: datetime,
    fractions: Sequence[Decimal] = DEFAULT_FRACTIONS,
) -> TicketClocks:
    """The ticket's clocks at `now`, from its contract's terms and its stop-clocks."""
    assert ticket.id is not None
    terms = terms_for_ticket(session=session, ticket=ticket)
    return clocks_for(
        pack=terms.pack,
        ticket=ticket,
        pauses=[
            *pauses_of(session=session, ticket_id=ticket.id),
            *maintenance_stops(session=session, pack=terms.pack, ticket=ticket),
        ],
        now=now,
        fractions=fractions,
        terms=terms,
    )
