"""Manager reports: live status, SLA compliance and credits over a period."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.db.models import Contract, LedgerEntry, LedgerEntryType, Tenant, Ticket, TicketStatus
from bot.numbers import parse_int
from bot.services.actors import Actor, ticket_visibility
from bot.services.errors import InputError
from bot.services.ticket_sla import ticket_clocks
from bot.sla.clock import ClockState
from pricing.loader import get_pack


@dataclass(frozen=True)
class Period:
    """A half-open interval of instants, and what kind of period it is (for its wording)."""

    start: datetime
    end: datetime
    kind: Literal["month", "week", "year", "days"]
    days: int = 0


MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PERIOD_DAYS = 3660


def parse_period(*, text: str, now: datetime, zone: str) -> Period:
    """`""`/month → this month; `YYYY-MM`; `YYYY`; `week`; `Nd` (last N days)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    word = text.strip().lower()

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz)

    def month(year: int, number: int) -> Period:
        start = date(year, number, 1)
        end = date(year + (number == 12), number % 12 + 1, 1)
        return Period(at(start), at(end), "month")

    if word in ("", "month", "mois", "maand"):
        return month(local.year, local.month)
    if word in ("week", "semaine"):
        start = local.date() - timedelta(days=local.weekday())
        return Period(at(start), at(start + timedelta(days=7)), "week")
    if word in ("year", "année", "jaar"):
        return Period(at(date(local.year, 1, 1)), at(date(local.year + 1, 1, 1)), "year")
    if match := re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", word, re.ASCII):
        year, number = _year(match[1]), parse_int(match[2], low=1, high=12)
        if number is None:
            raise InputError("month out of range", reason="month")
        return month(year, number)
    if match := re.fullmatch(r"([0-9]{4})", word, re.ASCII):
        year = _year(match[1])
        return Period(at(date(year, 1, 1)), at(date(year + 1, 1, 1)), "year")
    if match := re.fullmatch(r"([0-9]{1,4})\s*[dj]", word, re.ASCII):
        days = parse_int(match[1], low=1, high=MAX_PERIOD_DAYS)
        if days is None:
            raise InputError("number of days out of range", reason="days")
        return Period(now - timedelta(days=days), now, "days", days=days)
    raise InputError("unknown period", reason="unknown")


def _year(text: str) -> int:
    year = parse_int(text, low=MIN_YEAR, high=MAX_YEAR)
    if year is None:
        raise InputError("year out of range", reason="year")
    return year


@dataclass
class TenantStatus:
    """Open tickets of one tenant."""

    tenant: str
    by_priority: Counter[str] = field(default_factory=Counter)
    at_risk: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)


def status(
    *, session: Session, actor: Actor, now: datetime, risk_fraction: Decimal = Decimal("0.75")
) -> list[TenantStatus]:
    """Open tickets per tenant: counts per priority, at-risk and breached references."""
    query = select(Ticket).where(
        col(Ticket.status).in_(TicketStatus.open_statuses()), ticket_visibility(actor)
    )
    rows: dict[int, TenantStatus] = {}
    for ticket in session.exec(query):
        tenant = session.get(Tenant, ticket.tenant_id)
        assert tenant is not None
        assert ticket.id is not None
        row = rows.setdefault(ticket.tenant_id, TenantStatus(tenant=tenant.name))
        row.by_priority[ticket.priority] += 1
        clocks = ticket_clocks(session=session, ticket=ticket, now=now)
        if clocks.breached:
            row.breached.append(ticket.reference)
            continue
        for clock in (clocks.response, clocks.resolution):
            if (
                clock is not None
                and clock.state is ClockState.RUNNING
                and clock.target
                and clock.elapsed >= clock.target * float(risk_fraction)
            ):
                row.at_risk.append(ticket.reference)
                break
    return sorted(rows.values(), key=lambda r: r.tenant)


@dataclass
class Compliance:
    """SLA results of one (tenant, kind) over a period."""

    tenant: str
    kind: str
    tickets: int = 0
    with_target: int = 0
    met: int = 0

    @property
    def percent(self) -> Decimal | None:
        """Share of tickets with a target that met every target."""
        if not self.with_target:
            return None
        return (Decimal(self.met) * 100 / Decimal(self.with_target)).quantize(Decimal("0.1"))


def sla_compliance(
    *, session: Session, actor: Actor, period: Period, now: datetime
) -> list[Compliance]:
    """Per tenant and kind: tickets logged in the period whose targets were met."""
    query = select(Ticket).where(
        Ticket.logged_at >= period.start, Ticket.logged_at < period.end, ticket_visibility(actor)
    )
    rows: dict[tuple[int, str], Compliance] = {}
    for ticket in session.exec(query):
        tenant = session.get(Tenant, ticket.tenant_id)
        assert tenant is not None
        assert ticket.id is not None
        row = rows.setdefault(
            (ticket.tenant_id, ticket.kind), Compliance(tenant=tenant.name, kind=ticket.kind)
        )
        row.tickets += 1
        clocks = ticket_clocks(session=session, ticket=ticket, now=now)
        targets = [c for c in (clocks.response, clocks.resolution) if c and c.due_at]
        if not targets:
            continue
        row.with_target += 1
        if all(c.state in (ClockState.MET, ClockState.RUNNING, ClockState.PAUSED) for c in targets):
            row.met += 1
    return sorted(rows.values(), key=lambda r: (r.tenant, r.kind))


@dataclass
class CreditSummary:
    """Ledger movements of one tenant contract over a period."""

    tenant: str
    pack_id: str
    unit: str
    charged: Decimal = Decimal(0)
    waived: Decimal = Decimal(0)
    purchased: Decimal = Decimal(0)
    topped_up: Decimal = Decimal(0)


def credits(*, session: Session, actor: Actor, period: Period) -> list[CreditSummary]:
    """Per tenant contract: charged, waived, purchased and auto-topped-up amounts."""
    visible = ticket_visibility(
        actor, contract_id=LedgerEntry.contract_id, tenant_id=LedgerEntry.tenant_id
    )
    query = select(LedgerEntry).where(
        LedgerEntry.at >= period.start, LedgerEntry.at < period.end, visible
    )
    rows: dict[int, CreditSummary] = {}
    for entry in session.exec(query):
        contract = session.get(Contract, entry.contract_id)
        assert contract is not None
        pack = get_pack(contract.pack_id)
        tenant = session.get(Tenant, entry.tenant_id)
        assert tenant is not None
        row = rows.setdefault(
            entry.contract_id, CreditSummary(tenant=tenant.name, pack_id=pack.id, unit=entry.unit)
        )
        if entry.type is LedgerEntryType.CHARGE:
            row.charged += -entry.amount
        elif entry.type is LedgerEntryType.WAIVER:
            row.waived += entry.amount
        elif entry.type is LedgerEntryType.PURCHASE:
            row.purchased += entry.amount
        elif entry.type is LedgerEntryType.TOP_UP:
            row.topped_up += entry.amount
    return sorted(rows.values(), key=lambda r: (r.tenant, r.pack_id))
