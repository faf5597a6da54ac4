"""Tickets: open, look up, and every change an agent or requester makes.

Each operation writes its audit event, recomputes the SLA clocks and milestone rows, and
queues the notifications, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.db.models import (
    Contract,
    Role,
    Tenant,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPause,
    TicketStatus,
)
from bot.services import billing, milestones, notify
from bot.services.actors import Actor, actor_for, ticket_visibility
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError, NotFoundError
from bot.services.ticket_sla import TicketClocks, ticket_clocks
from bot.settings import current_settings
from bot.wording import zone_of
from pricing.loader import find_intervention, get_pack
from pricing.schema import ContractPack, PriceRuleType

__all__ = ["Actor", "actor_for", "contract_and_pack"]  # re-exported for callers


def can_see(*, session: Session, actor: Actor, ticket: Ticket) -> bool:
    """Whether the actor may see the ticket (`actors.ticket_visibility`, the one rule)."""
    if ticket.id is None:
        return False
    query = select(Ticket.id).where(Ticket.id == ticket.id, ticket_visibility(actor))
    return session.exec(query).first() is not None


def find_ticket(*, session: Session, actor: Actor, reference: str) -> Ticket:
    """The ticket with this reference if the actor may see it, else `NotFoundError`."""
    ticket = session.exec(select(Ticket).where(Ticket.reference == reference.upper())).first()
    if ticket is None or not can_see(session=session, actor=actor, ticket=ticket):
        raise NotFoundError("no such ticket", reference=reference)
    return ticket


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise AccessDeniedError("agents only")


def _require_open(ticket: Ticket) -> None:
    if ticket.status not in TicketStatus.open_statuses():
        raise InvalidStateError("ticket is not open", status=ticket.status.value)


def _next_reference(*, session: Session, prefix: str, year: int) -> str:
    counter = session.exec(
        select(TicketCounter).where(TicketCounter.prefix == prefix, TicketCounter.year == year)
    ).first()
    if counter is None:
        counter = TicketCounter(prefix=prefix, year=year, last=0)
    counter.last += 1
    session.add(counter)
    session.flush()
    return f"{prefix}-{year}-{counter.last:06d}"


def _event(
    *,
    session: Session,
    ticket: Ticket,
    actor: Actor | None,
    type: str,
    now: datetime,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
    minutes: int | None = None,
) -> None:
    assert ticket.id is not None
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor_id=None if actor is None else actor.id,
            type=type,
            changes=changes or {},
            reason=reason,
            minutes=minutes,
        )
    )


def refresh_sla(
    *, session: Session, ticket: Ticket, pack: ContractPack, now: datetime
) -> TicketClocks:
    """Recompute due instants, breach flags and milestone rows from the ticket's history."""
    assert ticket.id is not None
    fractions = [Decimal(str(f)) for f in current_settings().sla_warning_fractions]
    clocks = ticket_clocks(session=session, ticket=ticket, now=now, fractions=fractions)
    ticket.response_due = None if clocks.response is None else clocks.response.due_at
    ticket.resolution_due = None if clocks.resolution is None else clocks.resolution.due_at
    ticket.response_breached = _missed(clocks.response, ticket.responded_at or ticket.resolved_at)
    ticket.resolution_breached = _missed(clocks.resolution, ticket.resolved_at)
    ticket.updated_at = now
    milestones.regenerate(session=session, ticket=ticket, clocks=clocks, now=now)
    return clocks


def _missed(clock: Any, met_at: datetime | None) -> bool:
    from bot.sla.clock import ClockState

    if clock is None or clock.due_at is None:
        return False
    if met_at is not None:
        return bool(met_at > clock.due_at)
    return bool(clock.state is ClockState.BREACHED)


def _due_params(ticket: Ticket) -> dict[str, str]:
    return {
        "response_due": "" if ticket.response_due is None else ticket.response_due.isoformat(),
        "resolution_due": (
            "" if ticket.resolution_due is None else ticket.resolution_due.isoformat()
        ),
    }


def open_ticket(
    *,
    session: Session,
    actor: Actor,
    contract: Contract,
    intervention_id: str,
    kind: str,
    priority: str,
    description: str,
    now: datetime,
    details: dict[str, str] | None = None,
    estimate_minutes: int | None = None,
    units: int | None = None,
) -> Ticket:
    """Log a ticket: the logging instant is `now`, which starts the SLA clocks."""
    pack = get_pack(contract.pack_id)
    if actor.role is not Role.ADMIN and actor.user.tenant_id != contract.tenant_id:
        raise AccessDeniedError("not your tenant's contract")
    _category, intervention = find_intervention(pack, intervention_id)
    if kind not in intervention.kinds:
        raise InputError(f"intervention {intervention_id} does not take kind {kind}")
    rule = intervention.prices.get(priority)
    if rule is None or rule.rule is PriceRuleType.NOT_AVAILABLE:
        raise InputError(f"priority {priority} is not available for {intervention_id}")
    tenant = session.get(Tenant, contract.tenant_id)
    assert tenant is not None
    year = now.astimezone(ZoneInfo(zone_of(pack))).year
    ticket = Ticket(
        reference=_next_reference(session=session, prefix=pack.intake.ticket_prefix, year=year),
        tenant_id=contract.tenant_id,
        contract_id=contract.id or 0,
        requester_id=actor.id,
        intervention_id=intervention_id,
        kind=kind,
        priority=priority,
        service_level=contract.service_level,
        status=TicketStatus.OPEN,
        logged_at=now,
        description=description,
        details=dict(details or {}),
        estimate_minutes=estimate_minutes,
        units=units,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    billing.on_open(session=session, ticket=ticket, contract=contract, pack=pack, actor=actor)
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    _event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="opened",
        now=now,
        changes={"intervention": intervention_id, "kind": kind, "priority": priority},
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event="opened",
        now=now,
        key=f"t{ticket.id}:opened",
        params=_due_params(ticket),
    )
    return ticket


def comment(*, session: Session, actor: Actor, ticket: Ticket, text: str, now: datetime) -> None:
    """Add a message to the ticket; the other side is told."""
    if not text.strip():
        raise InputError("empty comment")
    if ticket.status is TicketStatus.CLOSED:
        raise InvalidStateError("ticket is closed", status=ticket.status.value)
    _event(session=session, ticket=ticket, actor=actor, type="comment", now=now, reason=text)
    session.flush()
    event = "agent_comment" if actor.is_staff else "customer_comment"
    notify.emit(
        session=session,
        ticket=ticket,
        event=event,
        now=now,
        key=f"t{ticket.id}:comment:{now.isoformat()}:{actor.id}",
        params={"text": text},
        exclude_user_ids=[actor.id],
    )


def acknowledge(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """The agent's response: meets the response clock."""
    _require_staff(actor)
    _require_open(ticket)
    if ticket.responded_at is not None:
        raise InvalidStateError("already acknowledged", status=ticket.status.value)
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    ticket.responded_at = now
    if ticket.status is TicketStatus.OPEN:
        ticket.status = TicketStatus.RESPONDED
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    _event(session=session, ticket=ticket, actor=actor, type="responded", now=now)
    notify.emit(
        session=session, ticket=ticket, event="responded", now=now, key=f"t{ticket.id}:responded"
    )
    return ticket


def reclassify(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    now: datetime,
    reason: str,
    intervention_id: str | None = None,
    priority: str | None = None,
) -> Ticket:
    """Change the intervention and/or priority; the clocks restart from the logging instant."""
    _require_staff(actor)
    _require_open(ticket)
    if not reason.strip():
        raise InputError("a reason is required")
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    changes: dict[str, Any] = {}
    new_intervention = intervention_id or ticket.intervention_id
    _category, intervention = find_intervention(pack, new_intervention)
    new_priority = priority or ticket.priority
    rule = intervention.prices.get(new_priority)
    if rule is None or rule.rule is PriceRuleType.NOT_AVAILABLE:
        raise InputError(f"priority {new_priority} is not available for {new_intervention}")
    if new_intervention != ticket.intervention_id:
        changes["intervention"] = [ticket.intervention_id, new_intervention]
        ticket.intervention_id = new_intervention
        if ticket.kind not in intervention.kinds:
            changes["kind"] = [ticket.kind, intervention.kinds[0]]
            ticket.kind = intervention.kinds[0]
    if new_priority != ticket.priority:
        changes["priority"] = [ticket.priority, new_priority]
        ticket.priority = new_priority
    if not changes:
        raise InputError("nothing changes")
    billing.on_reclassify(session=session, ticket=ticket, pack=pack, actor=actor)
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    _event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="reclassified",
        now=now,
        changes=changes,
        reason=reason,
    )
    event = "intervention_changed" if "intervention" in changes else "priority_changed"
    notify.emit(
        session=session,
        ticket=ticket,
        event=event,
        now=now,
        key=f"t{ticket.id}:reclassified:{ticket.sla_generation}",
        params={**_due_params(ticket), "reason": reason},
    )
    return ticket


def pause(*, session: Session, actor: Actor, ticket: Ticket, reason: str, now: datetime) -> Ticket:
    """Stop the clock (customer delay, third party, force majeure) with a reason."""
    _require_staff(actor)
    _require_open(ticket)
    if ticket.status is TicketStatus.PAUSED:
        raise InvalidStateError("already paused", status=ticket.status.value)
    if not reason.strip():
        raise InputError("a reason is required")
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    assert ticket.id is not None
    session.add(TicketPause(ticket_id=ticket.id, started_at=now, reason=reason))
    ticket.status = TicketStatus.PAUSED
    session.flush()
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    _event(session=session, ticket=ticket, actor=actor, type="paused", now=now, reason=reason)
    notify.emit(
        session=session,
        ticket=ticket,
        event="paused",
        now=now,
        key=f"t{ticket.id}:paused:{now.isoformat()}",
        params={"reason": reason},
    )
    return ticket


def resume(
    *, session: Session, actor: Actor, ticket: Ticket, now: datetime, reason: str | None = None
) -> Ticket:
    """Restart a stopped clock; the due instants move by the paused business time."""
    _require_staff(actor)
    if ticket.status is not TicketStatus.PAUSED:
        raise InvalidStateError("not paused", status=ticket.status.value)
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    assert ticket.id is not None
    open_pause = session.exec(
        select(TicketPause).where(
            TicketPause.ticket_id == ticket.id,
            col(TicketPause.ended_at).is_(None),
        )
    ).first()
    if open_pause is not None:
        open_pause.ended_at = now
        open_pause.resume_reason = reason
        session.add(open_pause)
    ticket.status = TicketStatus.RESPONDED if ticket.responded_at else TicketStatus.OPEN
    session.flush()
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    _event(session=session, ticket=ticket, actor=actor, type="resumed", now=now, reason=reason)
    notify.emit(
        session=session,
        ticket=ticket,
        event="resumed",
        now=now,
        key=f"t{ticket.id}:resumed:{now.isoformat()}",
        params=_due_params(ticket),
    )
    return ticket


def log_time(*, session: Session, actor: Actor, ticket: Ticket, minutes: int, now: datetime) -> int:
    """Record work time on the ticket; returns the total recorded."""
    _require_staff(actor)
    if ticket.status is TicketStatus.CLOSED:
        raise InvalidStateError("ticket is closed", status=ticket.status.value)
    if minutes <= 0 or minutes > 24 * 60:
        raise InputError("minutes must be between 1 and 1440")
    _event(session=session, ticket=ticket, actor=actor, type="time", now=now, minutes=minutes)
    session.flush()
    return recorded_minutes(session=session, ticket=ticket)


def recorded_minutes(*, session: Session, ticket: Ticket) -> int:
    """The work time recorded on a ticket."""
    query = select(TicketEvent.minutes).where(
        TicketEvent.ticket_id == ticket.id, col(TicketEvent.minutes).is_not(None)
    )
    return sum(m or 0 for m in session.exec(query).all())


@dataclass(frozen=True)
class Resolution:
    """What resolving charged: credits, or a waiver because an SLA target was missed."""

    ticket: Ticket
    charge: billing.ChargeOutcome


def resolve(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    now: datetime,
    minutes: int | None = None,
) -> Resolution:
    """Resolve: charge the recorded time per the contract, or waive it on an SLA breach."""
    _require_staff(actor)
    _require_open(ticket)
    if minutes is not None:
        log_time(session=session, actor=actor, ticket=ticket, minutes=minutes, now=now)
    contract, pack = contract_and_pack(session=session, ticket=ticket)
    if ticket.status is TicketStatus.PAUSED:
        resume(session=session, actor=actor, ticket=ticket, now=now, reason="resolved")
    ticket.resolved_at = now
    if ticket.responded_at is None:
        ticket.responded_at = now
    ticket.status = TicketStatus.RESOLVED
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    outcome = billing.on_resolve(
        session=session,
        ticket=ticket,
        contract=contract,
        pack=pack,
        actor=actor,
        minutes=recorded_minutes(session=session, ticket=ticket),
        now=now,
    )
    _event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="resolved",
        now=now,
        changes={"charged": str(outcome.charged), "waived": str(outcome.waived)},
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event="resolved",
        now=now,
        key=f"t{ticket.id}:resolved",
        params={
            "charged": str(outcome.charged),
            "waived": str(outcome.waived),
            "on_request": "1" if outcome.on_request else "",
            "top_up_packs": str(outcome.top_up_packs),
            "owed": str(outcome.owed),
        },
    )
    return Resolution(ticket=ticket, charge=outcome)


def close(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """Close a resolved ticket."""
    _require_staff(actor)
    if ticket.status is not TicketStatus.RESOLVED:
        raise InvalidStateError("only a resolved ticket can be closed", status=ticket.status.value)
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.updated_at = now
    session.add(ticket)
    _event(session=session, ticket=ticket, actor=actor, type="closed", now=now)
    notify.emit(session=session, ticket=ticket, event="closed", now=now, key=f"t{ticket.id}:closed")
    return ticket


def events_of(*, session: Session, ticket: Ticket) -> list[TicketEvent]:
    """The ticket's audit trail, oldest first."""
    query = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(col(TicketEvent.at), col(TicketEvent.id))
    )
    return list(session.exec(query).all())


def tickets_for(
    *, session: Session, actor: Actor, scope: str = "mine", open_only: bool = True, limit: int = 20
) -> list[Ticket]:
    """The actor's tickets (`mine`) or their company's (`company`), newest first."""
    query = select(Ticket)
    if scope == "mine":
        query = query.where(Ticket.requester_id == actor.id)
    else:
        query = query.where(Ticket.tenant_id == actor.user.tenant_id)
    open_statuses = TicketStatus.open_statuses()
    statuses = (
        open_statuses if open_only else tuple(s for s in TicketStatus if s not in open_statuses)
    )
    query = query.where(col(Ticket.status).in_(statuses))
    return list(session.exec(query.order_by(col(Ticket.logged_at).desc()).limit(limit)).all())


def queue(*, session: Session, actor: Actor, limit: int = 30) -> list[Ticket]:
    """Open tickets of the providers the agent serves, nearest due instant first."""
    _require_staff(actor)
    query = select(Ticket).where(
        col(Ticket.status).in_(TicketStatus.open_statuses()), ticket_visibility(actor)
    )
    tickets = list(session.exec(query).all())

    def nearest(ticket: Ticket) -> datetime:
        candidates = [
            due
            for due, done in (
                (ticket.response_due, ticket.responded_at),
                (ticket.resolution_due, ticket.resolved_at),
            )
            if due is not None and done is None
        ]
        return (
            min(candidates) if candidates else datetime.max.replace(tzinfo=ticket.logged_at.tzinfo)
        )

    return sorted(tickets, key=nearest)[:limit]
