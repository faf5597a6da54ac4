"""Demo data at volume: many open tickets across the demo contracts, written in bulk.

For benchmarks and for trying the lists at a provider's scale. Each ticket's due instants and
milestones come from the real SLA engine: clocks are built once per (contract, intervention,
priority, logging instant, acknowledged) template and reused, and the rows are inserted with
multi-row statements, not one ORM object at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from bot.db.models import (
    NO_PENDING_DUE,
    Contract,
    MilestoneRow,
    MilestoneStatus,
    Tenant,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketPause,
    TicketStatus,
)
from bot.services import contracts, demo, outcomes, tallies, tenants, users
from bot.services.ticket_sla import TicketClocks, clocks_for
from bot.settings import current_settings
from bot.sla.clock import SlaClock
from bot.wording import zone_of
from pricing.schema import ContractPack, PriceRuleType

BATCH = 5_000
#: SQLite's page cache during the load, in KiB.
LOAD_CACHE_KIB = 256 * 1024
COMBOS_PER_CONTRACT = 12
LOGGING_SLOTS = 24
#: Logging instants spread over the last 21 days, so some targets are missed.
SPREAD = timedelta(days=21)


@dataclass(frozen=True)
class VolumeSummary:
    """What the bulk seed wrote."""

    tickets: int
    events: int
    milestones: int
    pauses: int


@dataclass(frozen=True)
class _Template:
    contract: Contract
    pack: ContractPack
    intervention_id: str
    kind: str
    priority: str


def seed_open_tickets(*, session: Session, count: int, now: datetime) -> VolumeSummary:
    """Add `count` open tickets to the demo customer (seeded first if absent), in bulk.

    Mixed priorities and interventions; one in three acknowledged, one in ten paused, one in
    five assigned to the demo agent; those logged long enough ago have missed targets. Each
    has its "opened" event (and "responded", "paused"), and its pending milestones.
    """
    demo.seed(session=session, now=now)
    tenant = session.exec(select(Tenant).where(Tenant.slug == demo.DEMO_TENANT)).one()
    assert tenant.id is not None
    requester = users.get_user_by_handle(session=session, handle="demo-requester")
    agent = users.get_user_by_handle(session=session, handle="demo-agent")
    assert requester is not None
    assert requester.id is not None
    assert agent is not None
    assert agent.id is not None
    templates = _templates(session, tenants.active_contracts(session=session, tenant_id=tenant.id))
    if not templates or count <= 0:
        return VolumeSummary(0, 0, 0, 0)
    with tallies.bulk_load(session=session), _load_pragmas(session):
        written = _insert(
            session=session,
            count=count,
            now=now,
            templates=templates,
            people=(tenant.id, requester.id, agent.id),
        )
    tallies.fold(session=session)  # deltas of earlier writes (PostgreSQL), added up at once
    if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequence on
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                "(SELECT max(id) FROM tickets))"
            )
        )
    return written


def _insert(
    *,
    session: Session,
    count: int,
    now: datetime,
    templates: list[_Template],
    people: tuple[int, int, int],
) -> VolumeSummary:
    """Write the tickets, their events, pauses and milestones in multi-row batches."""
    tenant_id, requester_id, agent_id = people
    fractions = [Decimal(str(f)) for f in current_settings().sla_warning_fractions]
    step = SPREAD / LOGGING_SLOTS
    slots = [now - step * (i + 1) for i in range(LOGGING_SLOTS)]
    clocks: dict[tuple[int, int, bool], TicketClocks] = {}
    next_ticket = (session.exec(select(func.max(Ticket.id))).one() or 0) + 1
    next_numbers: dict[tuple[str, int], int] = {}
    written = VolumeSummary(0, 0, 0, 0)
    tickets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    pauses: list[dict[str, Any]] = []
    stones: list[dict[str, Any]] = []
    for n in range(count):
        which, slot = n % len(templates), (n * 7 + n // len(templates)) % LOGGING_SLOTS
        template, logged = templates[which], slots[slot]
        acknowledged, paused, assigned = n % 3 == 0, n % 10 == 5, n % 5 == 1
        key = (which, slot, acknowledged)
        responded_at = logged + timedelta(minutes=12) if acknowledged else None
        if key not in clocks:
            clocks[key] = _clocks(session, template, logged, responded_at, now, fractions)
        found = clocks[key]
        ticket_id = next_ticket + n
        reference = _reference(session, next_numbers, template.pack, logged)
        response_due = found.response.due_at if found.response is not None else None
        resolution_due = found.resolution.due_at if found.resolution is not None else None
        status = TicketStatus.RESPONDED if acknowledged else TicketStatus.OPEN
        if paused:
            status = TicketStatus.PAUSED
        tickets.append(
            {
                "id": ticket_id,
                "reference": reference,
                "tenant_id": tenant_id,
                "contract_id": template.contract.id,
                "requester_id": requester_id,
                "intervention_id": template.intervention_id,
                "kind": template.kind,
                "priority": template.priority,
                "service_level": template.contract.service_level,
                "status": status,
                "logged_at": logged,
                "description": f"Demo ticket {n + 1}",
                "details": {},
                "response_due": response_due,
                "resolution_due": resolution_due,
                "responded_at": responded_at,
                "response_breached": _missed(response_due, responded_at, now),
                "resolution_breached": _missed(resolution_due, None, now),
                # As `outcomes.store` would: reports count stored outcomes.
                **_stored("response", found.response, _missed(response_due, responded_at, now)),
                **_stored("resolution", found.resolution, _missed(resolution_due, None, now)),
                "sla_generation": 1,
                "updated_at": now,
                "owner_id": agent_id if assigned else None,
                "queue_due": _queue_due(response_due, resolution_due, responded_at),
            }
        )
        events.append(_event(ticket_id, logged, requester_id, "opened", template))
        if responded_at is not None:
            events.append(_event(ticket_id, responded_at, agent_id, "responded", None))
        if paused:
            started = max(logged, now - timedelta(hours=2))
            events.append(_event(ticket_id, started, agent_id, "paused", None))
            pauses.append(
                {
                    "ticket_id": ticket_id,
                    "started_at": started,
                    "reason": "waiting for the customer",
                    "stops": ",".join(template.pack.stop_clock.targets),
                }
            )
        stones.extend(_milestones(ticket_id, found, now))
        if len(tickets) >= BATCH:
            written = _flush(session, written, tickets, events, pauses, stones)
    written = _flush(session, written, tickets, events, pauses, stones)
    _store_counters(session, next_numbers)
    return written


@contextmanager
def _load_pragmas(session: Session) -> Iterator[None]:
    """SQLite: a page cache big enough for the tables' and indexes' hot pages during the load
    (the connection's own setting, given back afterwards)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar_one()
    session.execute(text(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(before)}"))


def _templates(session: Session, active: list[Contract]) -> list[_Template]:
    """Up to COMBOS_PER_CONTRACT (intervention, kind, priority) per contract, spread out."""
    found: list[_Template] = []
    for contract in active:
        pack = contracts.terms_of(session=session, contract=contract).pack
        combos = [
            (item.id, item.kinds[0], priority)
            for category in pack.categories
            for item in category.interventions
            for priority, rule in item.prices.items()
            if rule.rule is not PriceRuleType.NOT_AVAILABLE and item.kinds
        ]
        stride = max(1, len(combos) // COMBOS_PER_CONTRACT)
        found.extend(
            _Template(contract, pack, intervention, kind, priority)
            for intervention, kind, priority in combos[::stride][:COMBOS_PER_CONTRACT]
        )
    return found


def _clocks(
    session: Session,
    template: _Template,
    logged: datetime,
    responded_at: datetime | None,
    now: datetime,
    fractions: list[Decimal],
) -> TicketClocks:
    ticket = Ticket(
        reference="",
        tenant_id=template.contract.tenant_id,
        contract_id=template.contract.id or 0,
        requester_id=0,
        intervention_id=template.intervention_id,
        kind=template.kind,
        priority=template.priority,
        service_level=template.contract.service_level,
        logged_at=logged,
        responded_at=responded_at,
    )
    terms = contracts.terms_of(session=session, contract=template.contract, pack=template.pack)
    return clocks_for(
        pack=template.pack, ticket=ticket, pauses=(), now=now, fractions=fractions, terms=terms
    )


def _queue_due(
    response_due: datetime | None, resolution_due: datetime | None, responded_at: datetime | None
) -> datetime:
    # As `models.queue_due_of` for an open ticket (the rows bypass the ORM's flush).
    if responded_at is None and response_due is not None:
        return response_due
    return resolution_due or NO_PENDING_DUE


def _stored(target: str, clock: SlaClock | None, breached: bool) -> dict[str, Any]:
    outcome, risk = outcomes.stored(clock, breached=breached)
    return {f"{target}_outcome": outcome, f"{target}_risk_at": risk}


def _missed(due: datetime | None, met: datetime | None, now: datetime) -> bool:
    if due is None:
        return False
    return (met or now) > due


def _reference(
    session: Session, numbers: dict[tuple[str, int], int], pack: ContractPack, logged: datetime
) -> str:
    prefix = pack.intake.ticket_prefix
    year = logged.astimezone(ZoneInfo(zone_of(pack))).year
    key = (prefix, year)
    if key not in numbers:
        counter = session.exec(
            select(TicketCounter).where(TicketCounter.prefix == prefix, TicketCounter.year == year)
        ).first()
        numbers[key] = 0 if counter is None else counter.last
    numbers[key] += 1
    return f"{prefix}-{year}-{numbers[key]:06d}"


def _event(
    ticket_id: int, at: datetime, actor_id: int, kind: str, template: _Template | None
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if template is not None:
        changes = {
            "intervention": template.intervention_id,
            "kind": template.kind,
            "priority": template.priority,
        }
    reason = "waiting for the customer" if kind == "paused" else None
    return {
        "ticket_id": ticket_id,
        "at": at,
        "actor_id": actor_id,
        "type": kind,
        "changes": changes,
        "reason": reason,
    }


def _milestones(ticket_id: int, clocks: TicketClocks, now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for target, clock in (("response", clocks.response), ("resolution", clocks.resolution)):
        if clock is None:
            continue
        for milestone in clock.milestones:
            done = milestone.at <= now  # a seeded desk does not replay its past alerts
            rows.append(
                {
                    "ticket_id": ticket_id,
                    "target": target,
                    "kind": milestone.kind.value,
                    "fraction": milestone.fraction,
                    "generation": 1,
                    "due_at": milestone.at,
                    "status": MilestoneStatus.DONE if done else MilestoneStatus.PENDING,
                    "done_at": milestone.at if done else None,
                }
            )
    return rows


def _flush(
    session: Session,
    written: VolumeSummary,
    tickets: list[dict[str, Any]],
    events: list[dict[str, Any]],
    pauses: list[dict[str, Any]],
    stones: list[dict[str, Any]],
) -> VolumeSummary:
    tables: tuple[tuple[Any, list[dict[str, Any]]], ...] = (
        (Ticket, tickets),
        (TicketEvent, events),
        (TicketPause, pauses),
        (MilestoneRow, stones),
    )
    for model, rows in tables:
        if rows:  # core inserts: one multi-row statement per table and batch, no ORM objects
            session.execute(insert(model.__table__), rows)
    summary = VolumeSummary(
        written.tickets + len(tickets),
        written.events + len(events),
        written.milestones + len(stones),
        written.pauses + len(pauses),
    )
    for rows in (tickets, events, pauses, stones):
        rows.clear()
    return summary


def _store_counters(session: Session, numbers: dict[tuple[str, int], int]) -> None:
    for (prefix, year), last in numbers.items():
        counter = session.exec(
            select(TicketCounter).where(TicketCounter.prefix == prefix, TicketCounter.year == year)
        ).first()
        if counter is None:
            counter = TicketCounter(prefix=prefix, year=year, last=0)
        counter.last = max(counter.last, last)
        session.add(counter)
    session.flush()
