"""The ticket actions that make sense on a ticket now: one rule for pings, cards and the core."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.db.models import TicketStatus

#: The ticket-action verbs, in the order buttons show them.
VERBS = ("ack", "take", "pause", "resume", "resolve")


class TicketState(Protocol):
    """What the buttons depend on: a stored ticket, or the columns a batch read of it."""

    @property
    def status(self) -> TicketStatus: ...
    @property
    def responded_at(self) -> datetime | None: ...
    @property
    def owner_id(self) -> int | None: ...


def ticket_actions(ticket: TicketState) -> tuple[str, ...]:
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
