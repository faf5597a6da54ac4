"""The ticket actions that make sense on a ticket now: one rule for pings, cards and the core."""

from __future__ import annotations

from bot.db.models import Ticket, TicketStatus

#: The ticket-action verbs, in the order buttons show them.
VERBS = ("ack", "take", "pause", "resume", "resolve")


def ticket_actions(ticket: Ticket) -> tuple[str, ...]:
    """The ping buttons that make sense on a ticket in its current state.

    New: acknowledge, take (while unassigned); acknowledged: pause, resolve; paused: resume;
    resolved or closed: none.
    """
    status = ticket.status
    if status not in TicketStatus.open_statuses():
        return ()
    if status is TicketStatus.PAUSED:
        return ("resume",)
    if ticket.responded_at is None:
        return ("ack", "take") if ticket.owner_id is None else ("ack",)
    return ("pause", "resolve")
