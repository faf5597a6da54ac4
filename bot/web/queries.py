"""The dashboard's reads, in SQL: visibility (`ticket_visibility`), filters, counts, LIMIT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from bot.db.models import (
    Claim,
    Contract,
    LedgerEntry,
    LedgerEntryType,
    TargetOutcome,
    Tenant,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
    User,
)
from bot.services import outcomes
from bot.services.actors import Actor, ticket_visibility
from bot.services.figures import effective_outcome
from bot.services.tickets import INTERNAL_EVENTS, pending_due

PAGE_SIZE = 50
LEDGER_LIMIT = 200
CONTRACTS_LIMIT = 500  # filter choices and accounts offered
HOLD_TYPES = (LedgerEntryType.HOLD, LedgerEntryType.RELEASE)
STATUS_FILTERS = ("open", "closed", "all")
OWNER_FILTERS = ("any", "me", "none")


def visible_contracts(
    *, session: Session, actor: Actor, limit: int = CONTRACTS_LIMIT
) -> list[tuple[Contract, Tenant]]:
    """The contracts whose tickets the actor may see, with their tenant, by tenant name."""
    visible = ticket_visibility(actor, contract_id=Contract.id, tenant_id=Contract.tenant_id)
    query = (
        select(Contract, Tenant)
        .join(Tenant, col(Tenant.id) == Contract.tenant_id)
        .where(visible)
        .order_by(col(Tenant.name), col(Contract.id))
        .limit(limit)
    )
    return [(contract, tenant) for contract, tenant in session.exec(query).all()]


def due_today(
    *, session: Session, actor: Actor, now: datetime, day_start: datetime, day_end: datetime
) -> dict[int, int]:
    """Per visible contract: open tickets whose next target falls due today, not yet missed."""
    due = pending_due()
    breached = breached_now(now)
    query = (
        select(Ticket.contract_id, func.count())
        .where(
            col(Ticket.status).in_(TicketStatus.open_statuses()),
            ticket_visibility(actor),
            ~breached,
            due >= day_start,
            due < day_end,
        )
        .group_by(col(Ticket.contract_id))
    )
    return {contract_id: int(n) for contract_id, n in session.exec(query).all()}


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


def breached_now(now: datetime) -> Any:
    """SQL: a target of the ticket is missed at `now` (as the managers' figures count it)."""
    return or_(
        *(
            effective_outcome(target, now) == TargetOutcome.BREACHED.value
            for target in ("response", "resolution")
        )
    )


def is_breached(ticket: Ticket, now: datetime) -> bool:
    """`breached_now` for a loaded ticket."""
    return TargetOutcome.BREACHED.value in (
        outcomes.outcome_now(ticket.response_outcome, ticket.response_due, now),
        outcomes.outcome_now(ticket.resolution_outcome, ticket.resolution_due, now),
    )


def ticket_page(
    *,
    session: Session,
    actor: Actor,
    filters: TicketFilters,
    now: datetime,
    per_page: int = PAGE_SIZE,
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
        query = query.where(breached_now(now))
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


def claims(*, session: Session, actor: Actor, limit: int = LEDGER_LIMIT) -> list[tuple[Claim, str]]:
    """The claim register as the reader may see it, newest first, with each ticket's reference."""
    visible = ticket_visibility(actor, contract_id=Claim.contract_id, tenant_id=Claim.tenant_id)
    query = (
        select(Claim, Ticket.reference)
        .join(Ticket, col(Ticket.id) == Claim.ticket_id, isouter=True)
        .where(visible)
        .order_by(col(Claim.created_at).desc(), col(Claim.id).desc())
        .limit(limit)
    )
    return [(claim, reference or "") for claim, reference in session.exec(query).all()]


@dataclass(frozen=True)
class Attachment:
    """A file sent on a ticket, as its page lists it."""

    name: str
    kind: str
    size: int | None
    at: datetime
    sender: str
    link: str | None


def attachments(*, session: Session, ticket: Ticket, internal: bool) -> list[Attachment]:
    """The files sent on a ticket (`ticket_attachments`), oldest first (those of internal
    notes for staff only)."""
    files = TicketAttachment
    query = (
        sql_select(
            col(files.name),
            col(files.kind),
            col(files.size),
            col(files.permalink),
            col(files.at),
            col(User.display_name),
        )
        .select_from(files)
        .join(User, col(User.id) == col(files.user_id), isouter=True)
        .join(TicketEvent, col(TicketEvent.id) == col(files.event_id), isouter=True)
        .where(col(files.ticket_id) == ticket.id)
        .order_by(col(files.at), col(files.id))
        .limit(LEDGER_LIMIT)
    )
    if not internal:
        query = query.where(
            or_(col(files.event_id).is_(None), col(TicketEvent.type).not_in(INTERNAL_EVENTS))
        )
    return [
        Attachment(
            name=name or kind or "",
            kind=kind or "",
            size=size,
            at=at,
            sender=sender or "",
            link=link if isinstance(link, str) and link.startswith("https://") else None,
        )
        for name, kind, size, link, at, sender in session.execute(query)
    ]
