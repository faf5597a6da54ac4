"""Managers' figures, counted by SQL over stored outcomes and ledger rows, per contract.

Every function takes a `Scope` (what the reader may see: an actor's visibility, optionally
narrowed to a tenant or a provider) and answers with a fixed number of statements, however
many tickets there are: `backlog` 1, `monthly_compliance` at most 2, `sla_figures` at most 4
(ticket counts come from the per-day tallies, `bot.services.tallies`), `credit_figures` 3,
`satisfaction` at most 2. Figures are never merged across contracts.

Compliance counts only targets that have an outcome: met / (met + breached); a target still
running whose due instant has passed counts as breached even before the worker records it;
open targets are "in progress", and "at risk" once their stored risk instant has passed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, func, or_, true
from sqlalchemy import Numeric as SqlNumeric
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from bot.db.models import (
    Contract,
    LedgerEntry,
    LedgerEntryType,
    TargetOutcome,
    Tenant,
    Ticket,
    TicketSatisfaction,
    TicketStatus,
)
from bot.reports.periods import Period
from bot.services.actors import Actor, ticket_visibility
from bot.services.tallies import REF_COLUMNS, counts, ref_of, ref_select
from bot.services.tallies import ContractRef as ContractRef
from bot.services.tallies import effective_outcome as effective_outcome
from pricing.loader import load_packs

TARGETS = ("response", "resolution")
#: Backlog age buckets: logged less than a day ago, less than a week ago, longer.
AGE_BUCKETS = (timedelta(days=1), timedelta(days=7))
LEDGER_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Scope:
    """Which tickets and ledger entries a report covers.

    `actor`: what that person may see (the chat's one visibility rule); `tenant_id` and
    `provider_code` narrow it (or, without an actor, are the whole scope: the operator's CLI).
    """

    actor: Actor | None = None
    tenant_id: int | None = None
    provider_code: str | None = None

    def where(self, *, contract_id: Any, tenant_id: Any) -> ColumnElement[bool]:
        """The scope as a SQL condition on rows with a contract and a tenant column."""
        conditions: list[ColumnElement[bool]] = []
        if self.actor is not None:
            conditions.append(
                ticket_visibility(self.actor, contract_id=contract_id, tenant_id=tenant_id)
            )
        if self.tenant_id is not None:
            conditions.append(tenant_id == self.tenant_id)
        if self.provider_code is not None:
            packs = sorted(
                p.id for p in load_packs().values() if p.provider_code == self.provider_code
            )
            contracts = select(Contract.id).where(col(Contract.pack_id).in_(packs))
            conditions.append(contract_id.in_(contracts))
        return and_(true(), *conditions)

    def tickets(self) -> ColumnElement[bool]:
        """The scope on the tickets table."""
        return self.where(contract_id=Ticket.contract_id, tenant_id=Ticket.tenant_id)

    def ledger(self) -> ColumnElement[bool]:
        """The scope on the ledger."""
        return self.where(contract_id=LedgerEntry.contract_id, tenant_id=LedgerEntry.tenant_id)


# --------------------------------------------------------------------------- SLA compliance


@dataclass
class TargetFigures:
    """One target (response or resolution) over a set of tickets."""

    met: int = 0
    breached: int = 0
    in_progress: int = 0
    at_risk: int = 0

    @property
    def decided(self) -> int:
        """Targets with an outcome."""
        return self.met + self.breached

    @property
    def percent(self) -> Decimal | None:
        """Compliance: met / (met + breached), to one decimal; None when nothing is decided."""
        if not self.decided:
            return None
        return (Decimal(self.met) * 100 / Decimal(self.decided)).quantize(Decimal("0.1"))


@dataclass
class SlaFigures:
    """Compliance of one contract's tickets logged in a period, with the previous period's."""

    contract: ContractRef
    tickets: int = 0
    response: TargetFigures = field(default_factory=TargetFigures)
    resolution: TargetFigures = field(default_factory=TargetFigures)
    previous: SlaFigures | None = None


def _add_target(figures: TargetFigures, outcome: str, risky: bool, n: int) -> None:
    if outcome == TargetOutcome.MET.value:
        figures.met += n
    elif outcome == TargetOutcome.BREACHED.value:
        figures.breached += n
    elif outcome == TargetOutcome.OPEN.value:
        figures.in_progress += n
    if risky:
        figures.at_risk += n


def _sla_slices(
    *, session: Session, scope: Scope, cuts: list[datetime], now: datetime
) -> list[dict[int, SlaFigures]]:
    """Per slice between consecutive `cuts` (logging instants), per contract, the figures."""
    found = counts(session=session, scope=scope, cuts=cuts, now=now, inside=True)
    slices: list[dict[int, SlaFigures]] = [{} for _ in cuts[1:]]
    for group, n in found.groups.items():
        ref = found.contracts[group.contract_id]
        figures = slices[group.bucket - 1].setdefault(ref.contract_id, SlaFigures(contract=ref))
        figures.tickets += n
        _add_target(figures.response, group.response, group.response_risk, n)
        _add_target(figures.resolution, group.resolution, group.resolution_risk, n)
    return slices


def sla_figures(
    *, session: Session, scope: Scope, period: Period, now: datetime
) -> list[SlaFigures]:
    """Per contract: response and resolution compliance of the tickets logged in `period`,
    each with the previous period's figures (`previous`, None when it had no ticket)."""
    before_period = period.previous()
    if before_period.end == period.start:
        cuts = [before_period.start, period.start, period.end]
        before, current = _sla_slices(session=session, scope=scope, cuts=cuts, now=now)
    else:
        [before] = _sla_slices(
            session=session, scope=scope, cuts=[before_period.start, before_period.end], now=now
        )
        [current] = _sla_slices(
            session=session, scope=scope, cuts=[period.start, period.end], now=now
        )
    for contract_id, figures in current.items():
        figures.previous = before.get(contract_id)
    return sorted(current.values(), key=lambda f: f.contract.sort_key)


@dataclass
class MonthlyCompliance:
    """One contract's compliance month by month (None: no target decided that month)."""

    contract: ContractRef
    months: list[Period]
    response: list[Decimal | None]
    resolution: list[Decimal | None]


def monthly_compliance(
    *, session: Session, scope: Scope, months: list[Period], now: datetime
) -> list[MonthlyCompliance]:
    """Per contract, compliance of the tickets logged in each of `months` (consecutive)."""
    if not months:
        return []
    cuts = [m.start for m in months] + [months[-1].end]
    slices = _sla_slices(session=session, scope=scope, cuts=cuts, now=now)
    found: dict[int, MonthlyCompliance] = {}
    for index, per_contract in enumerate(slices):
        for contract_id, figures in per_contract.items():
            entry = found.setdefault(
                contract_id,
                MonthlyCompliance(
                    contract=figures.contract,
                    months=months,
                    response=[None] * len(months),
                    resolution=[None] * len(months),
                ),
            )
            entry.response[index] = figures.response.percent
            entry.resolution[index] = figures.resolution.percent
    return sorted(found.values(), key=lambda f: f.contract.sort_key)


# --------------------------------------------------------------------------- backlog


@dataclass
class PriorityBacklog:
    """Open tickets of one priority: how many, how old, at risk, breached."""

    priority: str
    open: int = 0
    at_risk: int = 0
    breached: int = 0
    paused: int = 0
    by_age: list[int] = field(default_factory=lambda: [0] * (len(AGE_BUCKETS) + 1))


@dataclass
class Backlog:
    """One contract's open tickets by priority (in the pack's priority order)."""

    contract: ContractRef
    priorities: list[PriorityBacklog] = field(default_factory=list)

    @property
    def open(self) -> int:
        """Open tickets of the contract."""
        return sum(p.open for p in self.priorities)

    @property
    def at_risk(self) -> int:
        """Open tickets with a target at risk (and none breached)."""
        return sum(p.at_risk for p in self.priorities)

    @property
    def breached(self) -> int:
        """Open tickets with a missed target."""
        return sum(p.breached for p in self.priorities)


def breached_now(now: datetime) -> Any:
    """Whether a ticket has a missed target at `now`, as SQL (stored or late)."""
    return or_(*(effective_outcome(t, now) == TargetOutcome.BREACHED.value for t in TARGETS))


def backlog(*, session: Session, scope: Scope, now: datetime) -> list[Backlog]:
    """Per contract and priority: open tickets, at risk, breached, paused, by age (from the
    tallies, in a fixed number of statements)."""
    cuts = [now - limit for limit in reversed(AGE_BUCKETS)]  # oldest cut first
    found = counts(
        session=session, scope=scope, cuts=cuts, now=now, statuses=TicketStatus.open_statuses()
    )
    entries: dict[int, Backlog] = {}
    rows: dict[tuple[int, str], PriorityBacklog] = {}
    for group, n in found.groups.items():
        ref = found.contracts[group.contract_id]
        entry = entries.setdefault(ref.contract_id, Backlog(contract=ref))
        key = (ref.contract_id, group.priority)
        if key not in rows:
            rows[key] = PriorityBacklog(priority=group.priority)
            entry.priorities.append(rows[key])
        line = rows[key]
        line.open += n
        line.by_age[len(AGE_BUCKETS) - group.bucket] += n
        line.breached += n if group.breached else 0
        line.at_risk += n if group.risky and not group.breached else 0
        line.paused += n if group.status is TicketStatus.PAUSED else 0
    packs = load_packs()
    for entry in entries.values():
        pack = packs.get(entry.contract.pack_id)
        order = [] if pack is None else [p.id for p in pack.priorities]
        entry.priorities.sort(
            key=lambda p: (
                order.index(p.priority) if p.priority in order else len(order),
                p.priority,
            )
        )
    return sorted(entries.values(), key=lambda b: b.contract.sort_key)


# --------------------------------------------------------------------------- credits


@dataclass
class CreditFigures:
    """One contract's account over a period (amounts in its unit), with the previous period."""

    contract: ContractRef
    unit: str
    bought: Decimal = Decimal(0)  # purchases
    topped_up: Decimal = Decimal(0)  # automatic top-ups
    allowance: Decimal = Decimal(0)  # a time bank's monthly hours
    charged: Decimal = Decimal(0)  # spent on tickets (credits or hours used)
    waived: Decimal = Decimal(0)  # charges given back because an SLA target was missed
    expired: Decimal = Decimal(0)  # hours or credits that lapsed
    adjusted: Decimal = Decimal(0)  # operator corrections (signed)
    balance: Decimal = Decimal(0)  # at the end of the period (holds included)
    previous: CreditFigures | None = None

    @property
    def net_charged(self) -> Decimal:
        """What was finally paid: charged less waived."""
        return self.charged - self.waived


def _amount(value: Any) -> Decimal:
    """A SQL sum back to an exact ledger amount (four decimals, as every entry)."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(LEDGER_PLACES).normalize() + Decimal(0)


def _ledger_sums(
    *, session: Session, scope: Scope, start: datetime | None, end: datetime
) -> list[Any]:
    # Amounts are exact text; the database sums them as NUMERIC (exact on PostgreSQL, a double
    # on SQLite: exact to the cent far beyond any account), quantized back to four places.
    where = [col(LedgerEntry.at) < end, scope.ledger()]
    if start is not None:
        where.append(col(LedgerEntry.at) >= start)
    query = (
        ref_select(
            col(LedgerEntry.unit).label("unit"),
            col(LedgerEntry.type).label("type"),
            func.sum(cast(col(LedgerEntry.amount), SqlNumeric(18, 4))).label("total"),
        )
        .select_from(LedgerEntry)
        .join(Contract, col(Contract.id) == col(LedgerEntry.contract_id))
        .join(Tenant, col(Tenant.id) == col(Contract.tenant_id))
        .where(*where)
        .group_by(*REF_COLUMNS, col(LedgerEntry.unit), col(LedgerEntry.type))
    )
    return list(session.execute(query))


_FIELDS = {
    LedgerEntryType.PURCHASE: ("bought", 1),
    LedgerEntryType.TOP_UP: ("topped_up", 1),
    LedgerEntryType.ALLOWANCE: ("allowance", 1),
    LedgerEntryType.CHARGE: ("charged", -1),
    LedgerEntryType.WAIVER: ("waived", 1),
    LedgerEntryType.EXPIRY: ("expired", -1),
    LedgerEntryType.ADJUSTMENT: ("adjusted", 1),
}


def _credit_rows(
    *, session: Session, scope: Scope, period: Period
) -> dict[tuple[int, str], CreditFigures]:
    found: dict[tuple[int, str], CreditFigures] = {}
    for row in _ledger_sums(session=session, scope=scope, start=period.start, end=period.end):
        key = (row.contract_id, row.unit)
        entry = found.setdefault(key, CreditFigures(contract=ref_of(row), unit=row.unit))
        kind = LedgerEntryType(row.type)
        if kind in _FIELDS:
            name, sign = _FIELDS[kind]
            setattr(entry, name, getattr(entry, name) + sign * _amount(row.total))
    return found


def credit_figures(*, session: Session, scope: Scope, period: Period) -> list[CreditFigures]:
    """Per contract and unit: bought, topped up, charged, waived, expired over `period`, the
    balance at its end, and the previous period's figures (three statements)."""
    current = _credit_rows(session=session, scope=scope, period=period)
    before = _credit_rows(session=session, scope=scope, period=period.previous())
    balances: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in _ledger_sums(session=session, scope=scope, start=None, end=period.end):
        balances[(row.contract_id, row.unit)] += _amount(row.total)
    for key, entry in current.items():
        entry.balance = balances[key]
        entry.previous = before.get(key)
    return sorted(current.values(), key=lambda f: (f.contract.sort_key, f.unit))


# --------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class Satisfaction:
    """Customers' ratings (1–5, `ticket_satisfaction`) of tickets logged in a period."""

    answers: int
    average: Decimal | None  # on the 1–5 scale; None without any answer


def satisfaction(*, session: Session, scope: Scope, period: Period) -> Satisfaction:
    """Average rating of the period's tickets in scope, and how many were rated."""
    # A join, not `IN (the period's tickets)`: no list of every ticket of the period is built,
    # and the planner may start from the ratings when they are fewer.
    query = (
        sql_select(func.count(), func.avg(col(TicketSatisfaction.score)))
        .select_from(TicketSatisfaction)
        .join(Ticket, col(Ticket.id) == col(TicketSatisfaction.ticket_id))
        .where(
            col(Ticket.logged_at) >= period.start,
            col(Ticket.logged_at) < period.end,
            scope.tickets(),
        )
    )
    count, average = session.execute(query).one()
    if not count:
        return Satisfaction(answers=0, average=None)
    return Satisfaction(answers=int(count), average=Decimal(str(average)).quantize(Decimal("0.1")))


# --------------------------------------------------------------------------- credits per month


@dataclass
class MonthlyCredits:
    """One account month by month: what was spent (charged less waived) and the balance at
    each month's end."""

    contract: ContractRef
    unit: str
    months: list[Period]
    spent: list[Decimal]
    balance: list[Decimal]


def monthly_credits(
    *, session: Session, scope: Scope, months: list[Period]
) -> list[MonthlyCredits]:
    """Per contract and unit, spending and closing balance of each of `months` (two queries)."""
    if not months:
        return []
    bucket = case(
        *(
            (and_(col(LedgerEntry.at) >= m.start, col(LedgerEntry.at) < m.end), index)
            for index, m in enumerate(months)
        ),
        else_=-1,
    ).label("bucket")
    query = (
        ref_select(
            col(LedgerEntry.unit).label("unit"),
            col(LedgerEntry.type).label("type"),
            bucket,
            func.sum(cast(col(LedgerEntry.amount), SqlNumeric(18, 4))).label("total"),
        )
        .select_from(LedgerEntry)
        .join(Contract, col(Contract.id) == col(LedgerEntry.contract_id))
        .join(Tenant, col(Tenant.id) == col(Contract.tenant_id))
        .where(
            col(LedgerEntry.at) >= months[0].start,
            col(LedgerEntry.at) < months[-1].end,
            scope.ledger(),
        )
        .group_by(*REF_COLUMNS, col(LedgerEntry.unit), col(LedgerEntry.type), bucket)
    )
    opening: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    refs: dict[tuple[int, str], ContractRef] = {}
    for row in _ledger_sums(session=session, scope=scope, start=None, end=months[0].start):
        opening[(row.contract_id, row.unit)] += _amount(row.total)
        refs[(row.contract_id, row.unit)] = ref_of(row)
    moves: dict[tuple[int, str], list[Decimal]] = {}
    spent: dict[tuple[int, str], list[Decimal]] = {}
    for row in session.execute(query):
        if row.bucket < 0:
            continue
        key = (row.contract_id, row.unit)
        refs[key] = ref_of(row)
        moves.setdefault(key, [Decimal(0)] * len(months))[row.bucket] += _amount(row.total)
        kind = LedgerEntryType(row.type)
        if kind in (LedgerEntryType.CHARGE, LedgerEntryType.WAIVER):
            spent.setdefault(key, [Decimal(0)] * len(months))[row.bucket] -= _amount(row.total)
    found: list[MonthlyCredits] = []
    for key, ref in refs.items():
        running = opening[key]
        balances: list[Decimal] = []
        for move in moves.get(key, [Decimal(0)] * len(months)):
            running += move
            balances.append(running)
        found.append(
            MonthlyCredits(
                contract=ref,
                unit=key[1],
                months=months,
                spent=spent.get(key, [Decimal(0)] * len(months)),
                balance=balances,
            )
        )
    return sorted(found, key=lambda f: (f.contract.sort_key, f.unit))
