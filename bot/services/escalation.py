"""Escalation requested on a ticket, one level at a time (Proximus 002, "Procédure d'escalade").

The contract defines no time trigger: a level is *requested*, by the customer or by the desk,
and each request moves the ticket one level up the pack's ladder. Levels marked
`office_hours_only` exist only inside the escalation's office hours; outside them the request
goes to the next level that is held (by an on-call role: the CEM, the "Head of"), and a level
above the last one held is refused until the office opens. A general outage goes to the pack's
`general_outage_level` at once. Every step is taken under the ticket's row lock, recorded on
the timeline and told to the customer and the provider's agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.db.models import Ticket, TicketStatus
from bot.services import notify
from bot.services.actors import Actor
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError
from bot.services.notify.escalation import escalation_ladder
from bot.services.tickets import lock_ticket, record_event
from bot.sla.calendar import calendar_for
from pricing.schema import ContractPack, EscalationLevel

#: The timeline event of an escalation step.
ESCALATED = "escalated"
#: How far ahead the next office opening is looked for.
HORIZON_DAYS = 21


class EscalationRefusedError(InputError):
    """No escalation is possible now (params: reason, and for `office_hours` the opening)."""

    code = "escalation"


@dataclass(frozen=True)
class Escalated:
    """The step taken: the level reached, from which level, and whether an on-call role holds it."""

    ticket: Ticket
    level: EscalationLevel
    previous: int
    on_call: bool
    general: bool


def ladder_for(pack: ContractPack, ticket: Ticket) -> list[EscalationLevel]:
    """The levels a ticket may climb, lowest first (empty: the contract has no escalation)."""
    kinds = pack.escalation.kinds
    if kinds and ticket.kind not in kinds:
        return []
    return escalation_ladder(pack, ticket.priority)


def current_level(ticket: Ticket) -> int:
    """The ticket's escalation level (0: the desk itself)."""
    return ticket.escalation_level or 0


def in_office_hours(pack: ContractPack, at: datetime) -> bool:
    """Whether `at` falls inside the escalation's office hours (always, without a calendar)."""
    return next_office_opening(pack, at) is None


def next_office_opening(pack: ContractPack, at: datetime) -> datetime | None:
    """When the office next opens, or None when `at` is inside office hours (or none defined)."""
    name = pack.escalation.office_hours_calendar
    if name is None:
        return None
    calendar = calendar_for(next(c for c in pack.calendars if c.id == name))
    day = calendar.local_date(at)
    for offset in range(HORIZON_DAYS):
        for start, end in calendar.windows_on(day + timedelta(days=offset)):
            if start <= at < end:
                return None
            if start > at:
                return start
    return None


def next_step(
    *, pack: ContractPack, ladder: list[EscalationLevel], current: int, at: datetime, general: bool
) -> tuple[EscalationLevel, bool]:
    """The level a request reaches now, and whether an on-call role holds it; or a refusal."""
    office = in_office_hours(pack, at)
    wanted = current + 1
    if general:
        outage = pack.escalation.general_outage_level
        if outage is None:
            raise EscalationRefusedError("the contract has no general-outage level", reason="none")
        if current >= outage:
            raise EscalationRefusedError(
                "already at or above the general-outage level", reason="already", level=str(current)
            )
        wanted = outage
    higher = [level for level in ladder if level.level >= wanted]
    if not higher:
        raise EscalationRefusedError(
            "already at the highest level", reason="top", level=str(current)
        )
    # Outside office hours a level kept for them is skipped to the next one held (the on-call
    # CEM holds levels 1 and 2); with none above, the request waits for the office to open.
    for level in higher:
        if office or not level.office_hours_only:
            return level, not office and level.on_call is not None
    opening = next_office_opening(pack, at)
    raise EscalationRefusedError(
        "the next level exists only in office hours",
        reason="office_hours",
        level=str(higher[0].level),
        opening=opening.isoformat() if opening else "",
    )


def escalate(
    *, session: Session, actor: Actor, ticket: Ticket, now: datetime, general: bool = False
) -> Escalated:
    """Move an open ticket one level up (a general outage: to its level at once); all are told."""
    if general and not actor.is_staff:
        raise AccessDeniedError("agents only")
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status not in TicketStatus.open_statuses():
        raise InvalidStateError(
            "ticket is not open", status=ticket.status.value, reference=ticket.reference
        )
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    ladder = ladder_for(pack, ticket)
    if not ladder:
        raise EscalationRefusedError("no escalation for this ticket", reason="none")
    previous = current_level(ticket)
    level, on_call = next_step(pack=pack, ladder=ladder, current=previous, at=now, general=general)
    ticket.escalation_level = level.level
    ticket.updated_at = now
    session.add(ticket)
    record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type=ESCALATED,
        now=now,
        changes={"level": level.level, "from": previous, "general": general, "on_call": on_call},
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event=ESCALATED,
        now=now,
        key=f"t{ticket.id}:escalated:{level.level}",
        params={
            "escalation_level": str(level.level),
            "on_call": "1" if on_call else "",
            "general": "1" if general else "",
            "by": actor.user.display_name,
            "by_staff": "1" if actor.is_staff else "",
        },
        exclude_user_ids=(actor.id,),
    )
    return Escalated(
        ticket=ticket, level=level, previous=previous, on_call=on_call, general=general
    )
