"""The agents' desk view of a ticket: the actions that make sense now, and its room ping.

Every change of a ticket's status or owner publishes a `ticket_state` message to the
provider's agents' rooms (never to anyone directly): the channel's sender edits the ticket's
ping in place with the new state line and the buttons that still apply, whatever triggered
the change (a button, a typed command, another agent).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db.models import Ticket, User
from bot.services import notify
from bot.services.actions import ticket_actions

__all__ = ["publish_state", "ticket_actions"]


def publish_state(*, session: Session, ticket: Ticket, now: datetime, by: str, verb: str) -> None:
    """Queue the update of the ticket's pings in the agents' rooms (`by` did `verb`)."""
    assert ticket.id is not None
    session.flush()
    owner = session.get(User, ticket.owner_id) if ticket.owner_id is not None else None
    notify.emit(
        session=session,
        ticket=ticket,
        event="ticket_state",
        now=now,
        key=f"t{ticket.id}:state:{now.isoformat()}:{verb}:{ticket.status}:{ticket.owner_id}",
        params={
            "by": by,
            "verb": verb,
            "owner": "" if owner is None else owner.display_name,
            "response_due": "" if ticket.response_due is None else ticket.response_due.isoformat(),
        },
    )
