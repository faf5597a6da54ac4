"""Milestone rows: the future SLA events of each ticket, kept in the ticket's transaction.

The worker's dispatcher fires them. Writing rows publishes "milestones written" at COMMIT
(`bot.db.signals`); an in-process worker listening wakes when one is due sooner than planned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from bot.db import signals
from bot.db.models import MilestoneRow, MilestoneStatus, Ticket
from bot.services.ticket_sla import TicketClocks


def regenerate(*, session: Session, ticket: Ticket, clocks: TicketClocks, now: datetime) -> int:
    """Cancel the ticket's pending milestones and write the current schedule; returns the count."""
    assert ticket.id is not None
    session.execute(
        update(MilestoneRow)
        .where(
            col(MilestoneRow.ticket_id) == ticket.id,
            col(MilestoneRow.status) == MilestoneStatus.PENDING,
        )
        .values(status=MilestoneStatus.CANCELLED, done_at=now)
    )
    ticket.sla_generation += 1
    written = 0
    earliest: datetime | None = None
    for target, clock in (("response", clocks.response), ("resolution", clocks.resolution)):
        if clock is None:
            continue
        for milestone in clock.pending():
            session.add(
                MilestoneRow(
                    ticket_id=ticket.id,
                    target=target,
                    kind=milestone.kind.value,
                    fraction=milestone.fraction,
                    generation=ticket.sla_generation,
                    due_at=milestone.at,
                )
            )
            written += 1
            if earliest is None or milestone.at < earliest:
                earliest = milestone.at
    if earliest is not None:
        signals.milestones_written(session, earliest)
    session.add(ticket)
    return written
