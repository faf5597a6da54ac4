"""Stored SLA outcomes: each target's outcome and at-risk instant, written on the ticket.

`refresh_sla` stores them whenever the clocks are rebuilt (opening, pause, resume,
reclassification, response, resolution, reopening) and the dispatcher when it records a
breach, so reports count rows (`GROUP BY`) and never rebuild a clock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.db.models import TargetOutcome, Ticket, TicketStatus
from bot.services.ticket_sla import TicketClocks, ticket_clocks
from bot.sla.clock import ClockState, MilestoneKind, SlaClock, build_clock

#: A running target is "at risk" once this share of its business time is used.
RISK_FRACTION = Decimal("0.75")


def outcome_of(clock: SlaClock | None, *, breached: bool) -> TargetOutcome | None:
    """A target's outcome: None without a timed target; breached, met, or still open (a
    target held by an open pause has no due instant but is still open)."""
    if clock is None or clock.target is None:
        return None
    if breached or clock.state is ClockState.BREACHED:
        return TargetOutcome.BREACHED
    if clock.met_at is not None:
        return TargetOutcome.MET
    return TargetOutcome.OPEN


def risk_at(clock: SlaClock | None) -> datetime | None:
    """The instant a running target reaches `RISK_FRACTION` of its time (None otherwise)."""
    if clock is None or clock.due_at is None or clock.met_at is not None:
        return None
    if clock.state not in (ClockState.RUNNING, ClockState.BREACHED):
        return None  # stopped: not at risk while the clock does not run
    clock_at = clock
    if RISK_FRACTION not in clock.fractions:  # the warnings configured skip it: compute it
        clock_at = build_clock(
            logged_at=clock.logged_at,
            rule=clock.rule,
            calendar=clock.calendar,
            pauses=clock.pauses,
            met_at=clock.met_at,
            now=clock.now,
            fractions=(RISK_FRACTION,),
        )
    for milestone in clock_at.milestones:
        if milestone.kind is MilestoneKind.WARNING and milestone.fraction == RISK_FRACTION:
            return milestone.at
    return clock.due_at


def store(*, ticket: Ticket, clocks: TicketClocks) -> None:
    """Write both targets' outcomes and at-risk instants on the ticket."""
    ticket.response_outcome = outcome_of(clocks.response, breached=ticket.response_breached)
    ticket.resolution_outcome = outcome_of(clocks.resolution, breached=ticket.resolution_breached)
    ticket.response_risk_at = risk_at(clocks.response)
    ticket.resolution_risk_at = risk_at(clocks.resolution)


def store_breach(*, ticket: Ticket, target: str) -> None:
    """A target the dispatcher found missed: breached, no longer at risk."""
    if target == "response":
        ticket.response_breached = True
        ticket.response_outcome = TargetOutcome.BREACHED
    else:
        ticket.resolution_breached = True
        ticket.resolution_outcome = TargetOutcome.BREACHED


def backfill(*, session: Session, now: datetime) -> int:
    """Store outcomes and at-risk instants on open tickets that have none yet (tickets from
    before the columns existed); returns how many were written. Idempotent."""
    query = select(Ticket).where(
        col(Ticket.status).in_(TicketStatus.open_statuses()),
        col(Ticket.response_risk_at).is_(None),
        col(Ticket.resolution_risk_at).is_(None),
    )
    written = 0
    for ticket in session.exec(query.order_by(col(Ticket.id))).all():
        before = (ticket.response_outcome, ticket.resolution_outcome)
        store(ticket=ticket, clocks=ticket_clocks(session=session, ticket=ticket, now=now))
        after = (ticket.response_outcome, ticket.resolution_outcome)
        if before != after or ticket.response_risk_at or ticket.resolution_risk_at:
            session.add(ticket)
            written += 1
    return written
