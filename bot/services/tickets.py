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

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot.db.dialect import insert_or_increment
from bot.db.models import (
    Contract,
    Role,
    Tenant,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPause,
    TicketStatus,
    User,
)
from bot.services import (
    availability,
    availability_words,
    billing,
    desk,
    milestones,
    notify,
    outages,
    outcomes,
    queries,
)
from bot.services.actors import Actor, actor_for, ticket_visibility
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError, NotFoundError
from bot.services.ticket_sla import TicketClocks, ticket_clocks
from bot.settings import current_settings
from bot.wording import zone_of
from pricing.loader import find_intervention, get_pack, staff_priorities
from pricing.schema import ContractPack, PriceRuleType

__all__ = ["Actor", "actor_for", "contract_and_pack"]  # re-exported for callers


BREACHED = "breached"  # the timeline event of a missed SLA target


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
        raise InvalidStateError(
            "ticket is not open", status=ticket.status.value, reference=ticket.reference
        )


def lock_ticket(*, session: Session, ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock (`SELECT … FOR UPDATE` on PostgreSQL).

    Every state transition starts here, so two agents acting at the same instant are
    serialised and the second one sees the first one's result. On SQLite the transaction's
    `BEGIN IMMEDIATE` already serialises writers; the re-read still refreshes the row.
    """
    assert ticket.id is not None
    query = (
        select(Ticket)
        .where(Ticket.id == ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(query).one()


def _publish(*, session: Session, ticket: Ticket, actor: Actor, now: datetime, verb: str) -> None:
    desk.publish_state(
        session=session, ticket=ticket, now=now, by=actor.user.display_name, verb=verb
    )


def _next_reference(*, session: Session, prefix: str, year: int) -> str:
    statement = insert_or_increment(
        session.get_bind().dialect.name,
        TicketCounter,
        keys={"prefix": prefix, "year": year},
        column="last",
    )
    number = session.execute(statement).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


def record_event(
    *,
    session: Session,
    ticket: Ticket,
    actor: Actor | None,
    type: str,
    now: datetime,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
    minutes: int | None = None,
) -> TicketEvent:
    """Append an event to the ticket's audit trail."""
    assert ticket.id is not None
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor_id=None if actor is None else actor.id,
        type=type,
        changes=changes or {},
        reason=reason,
        minutes=minutes,
    )
    session.add(event)
    return event


def record_breach(*, session: Session, ticket: Ticket, target: str, due: datetime) -> bool:
    """Put a target's breach on the ticket's timeline (at its due instant), once per target;
    False when it is there already."""
    assert ticket.id is not None
    query = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.type == BREACHED
    )
    if any(event.changes.get("target") == target for event in session.exec(query).all()):
        return False
    record_event(
        session=session,
        ticket=ticket,
        actor=None,
        type=BREACHED,
        now=due,
        changes={"target": target},
    )
    return True


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
    for target, clock, missed in (
        ("response", clocks.response, ticket.response_breached),
        ("resolution", clocks.resolution, ticket.resolution_breached),
    ):
        if missed and clock is not None and clock.due_at is not None:
            record_breach(session=session, ticket=ticket, target=target, due=clock.due_at)
    outcomes.store(ticket=ticket, clocks=clocks)
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


def reopen_round(*, session: Session, ticket: Ticket) -> str:
    """A suffix for the keys of a ticket's resolution and closing notifications: empty until
    the customer reopens it, then `:N` (each round is told once, and again after a reopen)."""
    query = select(func.count()).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.type == "reopened"
    )
    rounds = int(session.exec(query).one())
    return f":{rounds}" if rounds else ""


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
    requester: User | None = None,
    logged_at: datetime | None = None,
) -> Ticket:
    """Log a ticket: the logging instant (`now`, or `logged_at`) starts the SLA clocks.

    A customer logs their own tickets. Staff of the contract's provider log one for a
    customer (a phoned-in incident, an e-mail): `requester` is the customer's representative
    and `logged_at` the instant the customer reported it (not in the future, not before the
    contract's start); the staff member is recorded as its creator.
    """
    pack = get_pack(contract.pack_id)
    created_by: int | None = None
    if requester is not None and requester.id != actor.id:
        if not (actor.role is Role.ADMIN or pack.provider_code in actor.providers):
            raise AccessDeniedError("not a contract of your provider")
        if not actor.is_staff:
            raise AccessDeniedError("agents only")
        if requester.tenant_id != contract.tenant_id:
            raise InputError("the requester is not one of the customer's people")
        created_by = actor.id
    elif actor.role is not Role.ADMIN and actor.user.tenant_id != contract.tenant_id:
        raise AccessDeniedError("not your tenant's contract")
    logged = now if logged_at is None else logged_at
    if logged > now:
        raise InputError("the logging instant is in the future", reason="future")
    if logged_at is not None and logged < contract.created_at:
        raise InputError("the logging instant is before the contract", reason="before_contract")
    _category, intervention = find_intervention(pack, intervention_id)
    if kind not in intervention.kinds:
        raise InputError(f"intervention {intervention_id} does not take kind {kind}")
    rule = intervention.prices.get(priority)
    if rule is None or rule.rule is PriceRuleType.NOT_AVAILABLE:
        raise InputError(f"priority {priority} is not available for {intervention_id}")
    tenant = session.get(Tenant, contract.tenant_id)
    assert tenant is not None
    year = logged.astimezone(ZoneInfo(zone_of(pack))).year
    ticket = Ticket(
        reference=_next_reference(session=session, prefix=pack.intake.ticket_prefix, year=year),
        tenant_id=contract.tenant_id,
        contract_id=contract.id or 0,
        requester_id=actor.id if requester is None else requester.id or 0,
        created_by_id=created_by,
        intervention_id=intervention_id,
        kind=kind,
        priority=priority,
        service_level=contract.service_level,
        status=TicketStatus.OPEN,
        logged_at=logged,
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
    record_event(
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


def acknowledge(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """The agent's response: meets the response clock."""
    _require_staff(actor)
    ticket = lock_ticket(session=session, ticket=ticket)
    _require_open(ticket)
    if ticket.responded_at is not None:
        raise InvalidStateError(
            "already acknowledged", status=ticket.status.value, reference=ticket.reference
        )
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    ticket.responded_at = now
    if ticket.status is TicketStatus.OPEN:
        ticket.status = TicketStatus.RESPONDED
    changes: dict[str, Any] = {}
    if ticket.owner_id is None and actor.role is Role.AGENT:
        # An unassigned ticket's first acknowledgement makes the agent its owner.
        ticket.owner_id = actor.id
        changes["owner"] = [None, actor.id]
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    record_event(
        session=session, ticket=ticket, actor=actor, type="responded", now=now, changes=changes
    )
    notify.emit(
        session=session, ticket=ticket, event="responded", now=now, key=f"t{ticket.id}:responded"
    )
    _publish(session=session, ticket=ticket, actor=actor, now=now, verb="ack")
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
    ticket = lock_ticket(session=session, ticket=ticket)
    _require_open(ticket)
    if not reason.strip():
        raise InputError("a reason is required")
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    changes: dict[str, Any] = {}
    new_intervention = intervention_id or ticket.intervention_id
    _category, intervention = find_intervention(pack, new_intervention)
    new_priority = priority or ticket.priority
    if new_priority not in {p.id for p in staff_priorities(pack, intervention)}:
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
    record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="reclassified",
        now=now,
        changes=changes,
        reason=reason,
    )
    if "intervention" in changes and "priority" in changes:
        event = "reclassified"  # both in one step: the customer is told once
    elif "intervention" in changes:
        event = "intervention_changed"
    else:
        event = "priority_changed"
    notify.emit(
        session=session,
        ticket=ticket,
        event=event,
        now=now,
        key=f"t{ticket.id}:reclassified:{ticket.sla_generation}",
        params={**_due_params(ticket), "reason": reason},
    )
    return ticket


def pause(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    reason: str,
    now: datetime,
    cause: str | None = None,
) -> Ticket:
    """Stop the clock for one of the contract's causes, with a reason; only its targets stop.

    A contract without a cause refuses (``InputError`` reason ``no_stop_clock``); with a
    single cause it is implied, with several the ``cause`` must name one.
    """
    _require_staff(actor)
    ticket = lock_ticket(session=session, ticket=ticket)
    _require_open(ticket)
    if ticket.status is TicketStatus.PAUSED:
        raise InvalidStateError(
            "already paused", status=ticket.status.value, reference=ticket.reference
        )
    if not reason.strip():
        raise InputError("a reason is required")
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    cause = stop_clock_cause(pack=pack, cause=cause)
    stops = ",".join(pack.stop_clock.targets)
    assert ticket.id is not None
    session.add(
        TicketPause(ticket_id=ticket.id, started_at=now, reason=reason, cause=cause, stops=stops)
    )
    ticket.status = TicketStatus.PAUSED
    session.flush()
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    record_event(session=session, ticket=ticket, actor=actor, type="paused", now=now, reason=reason)
    notify.emit(
        session=session,
        ticket=ticket,
        event="paused",
        now=now,
        key=f"t{ticket.id}:paused:{now.isoformat()}",
        params={"reason": reason, "cause": cause, "stops": stops},
    )
    _publish(session=session, ticket=ticket, actor=actor, now=now, verb="pause")
    return ticket


def stop_clock_cause(*, pack: ContractPack, cause: str | None) -> str:
    """The contract's stop-clock cause a pause uses, or `InputError` saying why none applies."""
    causes = [c.id for c in pack.stop_clock.causes]
    if not causes:
        raise InputError(f"pack {pack.id} admits no stop-clock cause", reason="no_stop_clock")
    if cause is None and len(causes) == 1:
        return causes[0]
    if cause not in causes:
        raise InputError(
            f"stop-clock cause must be one of {', '.join(causes)}, got {cause!r}", reason="cause"
        )
    return cause


def resume(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    now: datetime,
    reason: str | None = None,
    publish: bool = True,
) -> Ticket:
    """Restart a stopped clock; the due instants move by the paused business time."""
    _require_staff(actor)
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status is not TicketStatus.PAUSED:
        raise InvalidStateError(
            "not paused", status=ticket.status.value, reference=ticket.reference
        )
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
    record_event(
        session=session, ticket=ticket, actor=actor, type="resumed", now=now, reason=reason
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event="resumed",
        now=now,
        key=f"t{ticket.id}:resumed:{now.isoformat()}",
        params=_due_params(ticket),
    )
    if publish:
        _publish(session=session, ticket=ticket, actor=actor, now=now, verb="resume")
    return ticket


def log_time(*, session: Session, actor: Actor, ticket: Ticket, minutes: int, now: datetime) -> int:
    """Record work time on the ticket; returns the total recorded."""
    _require_staff(actor)
    if ticket.status is TicketStatus.CLOSED:
        raise InvalidStateError("ticket is closed", status=ticket.status.value)
    if minutes <= 0 or minutes > 24 * 60:
        raise InputError("minutes must be between 1 and 1440")
    record_event(session=session, ticket=ticket, actor=actor, type="time", now=now, minutes=minutes)
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
    """Resolve: charge the recorded time per the contract, or waive it on an SLA breach.

    The ticket is locked first: of two agents resolving at the same instant, one resolves
    (and charges, once) and the other is refused with the ticket already resolved.
    """
    _require_staff(actor)
    ticket = lock_ticket(session=session, ticket=ticket)
    _require_open(ticket)
    if minutes is not None:
        log_time(session=session, actor=actor, ticket=ticket, minutes=minutes, now=now)
    contract, pack = contract_and_pack(session=session, ticket=ticket)
    if ticket.status is TicketStatus.PAUSED:
        resume(
            session=session, actor=actor, ticket=ticket, now=now, reason="resolved", publish=False
        )
    ticket.resolved_at = now
    if ticket.responded_at is None:
        ticket.responded_at = now
    ticket.status = TicketStatus.RESOLVED
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    if billing.ticket_cost(session=session, ticket=ticket).settled:
        # Reopened by the customer after a first resolution: that charge stands, once.
        outcome = billing.ChargeOutcome(
            rule=PriceRuleType.FREE,
            unit=pack.balance.unit.value,
            charged=Decimal(0),
            waived=Decimal(0),
            top_up_packs=0,
        )
    else:
        outcome = billing.on_resolve(
            session=session,
            ticket=ticket,
            contract=contract,
            pack=pack,
            actor=actor,
            minutes=recorded_minutes(session=session, ticket=ticket),
            now=now,
        )
    # Outages: the GTR owed (Alteo 5.2) and the period's availability, both in the register.
    gtr = outages.gtr_at_resolution(
        session=session, ticket=ticket, contract=contract, pack=pack, now=now
    )
    availability.record_crossing(
        session=session, ticket=ticket, now=now, text=availability_words.availability_text
    )
    record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="resolved",
        now=now,
        changes={"charged": str(outcome.charged), "waived": str(outcome.waived)}
        | ({"gtr_overrun_minutes": gtr["gtr.overrun"]} if "gtr.overrun" in gtr else {}),
    )
    notify.emit(
        session=session,
        ticket=ticket,
        event="resolved",
        now=now,
        key=f"t{ticket.id}:resolved{reopen_round(session=session, ticket=ticket)}",
        params={
            "charged": str(outcome.charged),
            "waived": str(outcome.waived),
            "on_request": "1" if outcome.on_request else "",
            "top_up_packs": str(outcome.top_up_packs),
            "owed": str(outcome.owed),
            **gtr,
        },
    )
    _publish(session=session, ticket=ticket, actor=actor, now=now, verb="resolve")
    return Resolution(ticket=ticket, charge=outcome)


def close(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """Close a resolved ticket."""
    _require_staff(actor)
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status is not TicketStatus.RESOLVED:
        raise InvalidStateError(
            "only a resolved ticket can be closed",
            status=ticket.status.value,
            reference=ticket.reference,
        )
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.updated_at = now
    session.add(ticket)
    record_event(session=session, ticket=ticket, actor=actor, type="closed", now=now)
    notify.emit(
        session=session,
        ticket=ticket,
        event="closed",
        now=now,
        key=f"t{ticket.id}:closed{reopen_round(session=session, ticket=ticket)}",
    )
    _publish(session=session, ticket=ticket, actor=actor, now=now, verb="close")
    return ticket


# A breach reaches the customer as its own notification, with the remedy it earns.
INTERNAL_EVENTS = ("note", "assigned", BREACHED)


def events_of(*, session: Session, ticket: Ticket, internal: bool = False) -> list[TicketEvent]:
    """The ticket's audit trail, oldest first; internal notes only for staff (`internal`)."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if not internal:
        query = query.where(col(TicketEvent.type).not_in(INTERNAL_EVENTS))
    return list(session.exec(query.order_by(col(TicketEvent.at), col(TicketEvent.id))).all())


def tickets_for(
    *, session: Session, actor: Actor, scope: str = "mine", open_only: bool = True, limit: int = 20
) -> list[Ticket]:
    """The actor's tickets (`mine`) or their company's (`company`), newest first."""
    where = [col(Ticket.tenant_id) == actor.user.tenant_id]
    if scope == "mine":  # of their current tenant: a user moved elsewhere leaves them behind
        where.append(col(Ticket.requester_id) == actor.id)
    if not open_only:
        where.append(col(Ticket.status).not_in(TicketStatus.open_statuses()))
    return queries.visible_tickets(
        session=session, actor=actor, where=where, open_only=open_only, limit=limit
    )


QUEUE_SCOPES = ("all", "mine", "unassigned", "breached")


def pending_due() -> Any:
    """The nearest pending due instant, as SQL: the stored queue key (`models.queue_due_of`)."""
    return col(Ticket.queue_due)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: its tickets, its number, whether more follow."""

    tickets: list[Ticket]
    page: int
    more: bool


def queue(
    *, session: Session, actor: Actor, scope: str = "all", page: int = 1, per_page: int = 15
) -> QueuePage:
    """Open tickets of the providers the agent serves, nearest pending due instant first.

    Filtering, ordering and paging are done in SQL: `mine` (I own them), `unassigned`,
    `breached` (a target missed); tickets without any pending target come last.
    """
    _require_staff(actor)
    if scope not in QUEUE_SCOPES:
        raise InputError("unknown queue scope", scope=scope)
    where: list[Any] = []
    if scope == "mine":
        where.append(col(Ticket.owner_id) == actor.id)
    elif scope == "unassigned":
        where.append(col(Ticket.owner_id).is_(None))
    elif scope == "breached":
        where.append(or_(col(Ticket.response_breached), col(Ticket.resolution_breached)))
    page = max(page, 1)
    found = queries.visible_tickets(
        session=session,
        actor=actor,
        where=where,
        order="due",
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    return QueuePage(tickets=found[:per_page], page=page, more=len(found) > per_page)
