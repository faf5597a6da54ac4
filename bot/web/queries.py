"""The dashboard's reads, in SQL: visibility (`ticket_visibility`), filters, counts, LIMIT."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from bot.db.models import (
    Contract,
    LedgerEntry,
    LedgerEntryType,
    MilestoneRow,
    MilestoneStatus,
    Tenant,
    Ticket,
    TicketStatus,
    User,
)
from bot.services.actors import Actor, ticket_visibility
from bot.services.tickets import pending_due

PAGE_SIZE = 50
LEDGER_LIMIT = 200
RISK_FRACTION = Decimal("0.75")
HOLD_TYPES = (LedgerEntryType.HOLD, LedgerEntryType.RELEASE)
STATUS_FILTERS = ("open", "closed", "all")
OWNER_FILTERS = ("any", "me", "none")


def visible_contracts(*, session: Session, actor: Actor) -> list[tuple[Contract, Tenant]]:
    """The contracts whose tickets the actor may see, with their tenant, by tenant name."""
    visible = ticket_visibility(actor, contract_id=Contract.id, tenant_id=Contract.tenant_id)
    query = (
        select(Contract, Tenant)
        .join(Tenant, col(Tenant.id) == Contract.tenant_id)
        .where(visible)
        .order_by(col(Tenant.name), col(Contract.id))
    )
    return [(contract, tenant) for contract, tenant in session.exec(query).all()]


def at_risk_condition(now: datetime) -> object:
    """SQL: an open ticket not yet breached whose running target passed its 75 % warning."""
    warning = (
        select(MilestoneRow.id)
        .where(
            col(MilestoneRow.ticket_id) == Ticket.id,
            col(MilestoneRow.generation) == Ticket.sla_generation,
            col(MilestoneRow.kind) == "warning",
            col(MilestoneRow.status) != MilestoneStatus.CANCELLED,
            col(MilestoneRow.fraction) >= RISK_FRACTION,
            col(MilestoneRow.due_at) <= now,
            or_(
                col(MilestoneRow.target) == "resolution",
                col(Ticket.responded_at).is_(None),
            ),
        )
        .correlate(Ticket)
    )
    return and_(
        col(Ticket.status).in_((TicketStatus.OPEN, TicketStatus.RESPONDED)),
        ~col(Ticket.response_breached),
        ~col(Ticket.resolution_breached),
        exists(warning),
    )


@dataclass
class ContractFigures:
    """Open work under one contract: counts by priority, at risk, breached, due today."""

    contract: Contract
    tenant: Tenant
    by_priority: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0
    breached: int = 0
    due_today: int = 0

    @property
    def open(self) -> int:
        """Open tickets in all."""
        return sum(self.by_priority.values())


def overview(
    *, session: Session, actor: Actor, now: datetime, day_start: datetime, day_end: datetime
) -> list[ContractFigures]:
    """Per visible contract with open tickets: the overview's figures, each one GROUP BY query."""
    open_now = and_(col(Ticket.status).in_(TicketStatus.open_statuses()), ticket_visibility(actor))
    rows: dict[int, ContractFigures] = {}
    contracts = {c.id: (c, t) for c, t in visible_contracts(session=session, actor=actor)}

    def row(contract_id: int) -> ContractFigures | None:
        if contract_id not in contracts:
            return None
        if contract_id not in rows:
            contract, tenant = contracts[contract_id]
            rows[contract_id] = ContractFigures(contract=contract, tenant=tenant)
        return rows[contract_id]

    counts = session.exec(
        select(Ticket.contract_id, Ticket.priority, func.count())
        .where(open_now)
        .group_by(col(Ticket.contract_id), col(Ticket.priority))
    ).all()
    for contract_id, priority, n in counts:
        if (figures := row(contract_id)) is not None:
            figures.by_priority[priority] = int(n)
    breached = or_(col(Ticket.response_breached), col(Ticket.resolution_breached))
    due = pending_due()
    for attribute, condition in (
        ("breached", breached),
        ("at_risk", at_risk_condition(now)),
        ("due_today", and_(~breached, due >= day_start, due < day_end)),
    ):
        query = (
            select(Ticket.contract_id, func.count())
            .where(open_now, condition)  # type: ignore[arg-type]
            .group_by(col(Ticket.contract_id))
        )
        for contract_id, n in session.exec(query).all():
            if (figures := row(contract_id)) is not None:
                setattr(figures, attribute, int(n))
    return sorted(rows.values(), key=lambda r: (r.tenant.name, r.contract.id or 0))


@dataclass(frozen=True)
class TicketFilters:
    """The tickets page's filters, as read from its query string."""

    status: str = "open"
    priority: str = ""
    contract_id: int | None = None
    owner: str = "any"
    breached: bool = False
    page: int = 1


@dataclass(frozen=True)
class TicketPage:
    """One page of tickets and whether more follow."""

    tickets: list[Ticket]
    page: int
    more: bool


def ticket_page(
    *, session: Session, actor: Actor, filters: TicketFilters, per_page: int = PAGE_SIZE
) -> TicketPage:
    """Visible tickets matching the filters: open ones nearest due first, others newest first."""
    query = select(Ticket).where(ticket_visibility(actor))
    if filters.status == "open":
        query = query.where(col(Ticket.status).in_(TicketStatus.open_statuses()))
    elif filters.status == "closed":
        query = query.where(col(Ticket.status).not_in(TicketStatus.open_statuses()))
    if filters.priority:
        query = query.where(Ticket.priority == filters.priority)
    if filters.contract_id is not None:
        query = query.where(Ticket.contract_id == filters.contract_id)
    if filters.owner == "me":
        query = query.where(Ticket.owner_id == actor.id)
    elif filters.owner == "none":
        query = query.where(col(Ticket.owner_id).is_(None))
    if filters.breached:
        query = query.where(or_(col(Ticket.response_breached), col(Ticket.resolution_breached)))
    if filters.status == "open":
        due = pending_due()
        query = query.order_by(due.is_(None), due, col(Ticket.logged_at), col(Ticket.id))
    else:
        query = query.order_by(col(Ticket.logged_at).desc(), col(Ticket.id).desc())
    page = max(filters.page, 1)
    found = list(session.exec(query.offset((page - 1) * per_page).limit(per_page + 1)).all())
    return TicketPage(tickets=found[:per_page], page=page, more=len(found) > per_page)


def visible_ticket(*, session: Session, actor: Actor, reference: str) -> Ticket | None:
    """The ticket with this reference if the actor may see it (else None: the page is 404)."""
    query = select(Ticket).where(Ticket.reference == reference.upper(), ticket_visibility(actor))
    return session.exec(query).first()


def names(*, session: Session, user_ids: set[int]) -> dict[int, str]:
    """Display names of these users, in one query."""
    if not user_ids:
        return {}
    query = select(User.id, User.display_name).where(col(User.id).in_(sorted(user_ids)))
    return {user_id: name for user_id, name in session.exec(query).all() if user_id is not None}


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry with the balance after it (holds reserve without moving the balance)."""

    entry: LedgerEntry
    balance: Decimal
    reserved: bool
    ticket: str | None


@dataclass(frozen=True)
class Ledger:
    """A contract's account: its newest lines first, the balance, and how many are older."""

    lines: list[LedgerLine]
    balance: Decimal
    hidden: int


def ledger(*, session: Session, contract_id: int, limit: int = LEDGER_LIMIT) -> Ledger:
    """The account's entries with a running balance, the newest `limit` of them shown."""
    query = (
        select(LedgerEntry, Ticket.reference)
        .join(Ticket, col(Ticket.id) == LedgerEntry.ticket_id, isouter=True)
        .where(LedgerEntry.contract_id == contract_id)
        .order_by(col(LedgerEntry.at), col(LedgerEntry.id))
    )
    running = Decimal(0)
    lines: list[LedgerLine] = []
    for entry, reference in session.exec(query).all():
        reserved = entry.type in HOLD_TYPES
        if not reserved:
            running += entry.amount
        lines.append(LedgerLine(entry=entry, balance=running, reserved=reserved, ticket=reference))
    shown = lines[-limit:]
    return Ledger(lines=shown[::-1], balance=running, hidden=len(lines) - len(shown))
