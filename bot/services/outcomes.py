"""Stored SLA outcomes: each target's outcome and at-risk instant, written on the ticket.

`refresh_sla` stores them whenever the clocks are rebuilt (opening, pause, resume,
reclassification, response, resolution, reopening) and the dispatcher when it records a
breach, so reports count rows (`GROUP BY`) and never rebuild a clock.

An open target whose risk instant has passed is recorded at risk (`TargetOutcome.AT_RISK`,
its risk instant cleared): by `store` when the clocks are stored after it, by `mark_risks`
(the dispatcher's pass) when the instant passes in between. Reports are exact without the
mark (they read the open targets past their risk instant one by one); with it, those are
only the few not yet marked, whatever the number of tickets at risk.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot.db.models import TargetOutcome, Ticket, TicketStatus
from bot.services.ticket_sla import TicketClocks, ticket_clocks
from bot.sla.clock import ClockState, MilestoneKind, SlaClock, build_clock

#: A running target is "at risk" once this share of its business time is used.
RISK_FRACTION = Decimal("0.75")
#: Targets `mark_risks` records per statement.
MARK_BATCH = 500
#: Where a target counts as open (not yet met nor missed).
STILL_OPEN = (TargetOutcome.OPEN.value, TargetOutcome.AT_RISK.value)


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


def stored(
    clock: SlaClock | None, *, breached: bool
) -> tuple[TargetOutcome | None, datetime | None]:
    """A target as the ticket stores it: its outcome and risk instant, an open target already
    past its risk instant (at the clock's `now`) recorded at risk, its risk instant cleared."""
    outcome, risk = outcome_of(clock, breached=breached), risk_at(clock)
    past_risk = clock is not None and risk is not None and risk <= clock.now
    if outcome is TargetOutcome.OPEN and past_risk:
        return TargetOutcome.AT_RISK, None
    return outcome, risk


def store(*, ticket: Ticket, clocks: TicketClocks) -> None:
    """Write both targets' outcomes and at-risk instants on the ticket."""
    for target, clock, breached in (
        ("response", clocks.response, ticket.response_breached),
        ("resolution", clocks.resolution, ticket.resolution_breached),
    ):
        outcome, risk = stored(clock, breached=breached)
        setattr(ticket, f"{target}_outcome", outcome)
        setattr(ticket, f"{target}_risk_at", risk)
        # Both written, changed or not: a mark committed since the ticket was read (its
        # outcome at risk, its risk instant cleared) is never left half overwritten.
        flag_modified(ticket, f"{target}_outcome")
        flag_modified(ticket, f"{target}_risk_at")


def outcome_now(outcome: str | None, due: datetime | None, now: datetime) -> str | None:
    """A stored outcome as figures count it at `now` (`tallies.effective_outcome` for a loaded
    ticket): an open target past its due instant is missed, one recorded at risk is open."""
    if outcome in STILL_OPEN:
        if due is not None and due < now:
            return TargetOutcome.BREACHED.value
        return TargetOutcome.OPEN.value
    return outcome


def _risk_due(target: str, now: datetime) -> tuple[Any, Any]:
    """SQL: the target is open, not recorded at risk, and its risk instant is at or before
    `now` (a range of the target's covering index)."""
    outcome = col(getattr(Ticket, f"{target}_outcome"))
    risk = col(getattr(Ticket, f"{target}_risk_at"))
    return outcome == TargetOutcome.OPEN.value, risk <= now


def mark_risks(*, session: Session, now: datetime, limit: int = MARK_BATCH) -> int:
    """Record up to `limit` open targets of each kind whose risk instant is at or before
    `now` as at risk (oldest first); returns how many were recorded.

    The update repeats the condition (a ticket written since it was picked keeps what its
    writer stored); on PostgreSQL the picked rows are locked, those a transaction holds
    skipped (taken by a later pass): no ticket write ever waits for this one.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    marked = 0
    for target in ("response", "resolution"):
        outcome = col(getattr(Ticket, f"{target}_outcome"))
        risk = col(getattr(Ticket, f"{target}_risk_at"))
        due_now = _risk_due(target, now)
        picked = select(col(Ticket.id)).where(*due_now).order_by(risk).limit(limit)
        if postgres:
            picked = picked.with_for_update(skip_locked=True)
        ids = list(session.exec(picked).all())
        if not ids:
            continue
        recorded = (
            update(Ticket)
            .where(col(Ticket.id).in_(ids), *due_now)
            .values({outcome: TargetOutcome.AT_RISK.value, risk: None})
            .execution_options(synchronize_session=False)
        )
        result: Any = session.execute(recorded)
        marked += int(result.rowcount or 0)
    return marked


def risks_due(*, session: Session, now: datetime) -> bool:
    """Whether an open target is past its risk instant and not yet recorded at risk."""
    for target in ("response", "resolution"):
        found = select(col(Ticket.id)).where(*_risk_due(target, now))
        if session.exec(found.limit(1)).first() is not None:
            return True
    return False


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
        # Recorded at risk by this code (its risk instant cleared): nothing to fill in.
        func.coalesce(col(Ticket.response_outcome), "") != TargetOutcome.AT_RISK.value,
        func.coalesce(col(Ticket.resolution_outcome), "") != TargetOutcome.AT_RISK.value,
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
