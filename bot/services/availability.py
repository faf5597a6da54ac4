"""Availability measured from outage tickets, and the remedy a period's figure triggers.

The pack's availability remedy says which tickets are outages (`applies_to` kind and
priority: Proximus P1 incidents, Alteo critical ones), over which period it is measured
(`period`: Proximus a year, Alteo a month) and what it owes. Downtime is the union of the
outage tickets' intervals (logging to resolution, or to now while open) minus their
stop-clocks and the announced maintenance that affects the customer, counted in the service
window (Proximus: "pendant sa Fenêtre de service") or around the clock (Alteo). The figure is
100 × (1 - downtime / the period's elapsed time, 24x7).

A figure that crosses a threshold becomes a claim in the register and tells the customer's
managers once (`record_crossing`, called when an outage ticket is resolved; the worker's
`missed_by_open_outages` then `record_missed_periods` while outages are open).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.db.models import Claim, Contract, Role, Ticket, TicketPause, TicketStatus, User
from bot.i18n import Translator
from bot.services import claims, maintenance, notify
from bot.services.contracts import terms_of
from bot.services.errors import InputError
from bot.services.outages import maintenance_excluded
from bot.sla.calendar import BusinessCalendar, to_us
from bot.sla.clock import NoTargetEntryError, targets_for
from pricing.loader import get_pack, load_packs
from pricing.remedies import (
    HUNDRED,
    RemedyResult,
    availability_per_slice,
    availability_table,
)
from pricing.schema import ContractPack, Remedy

AVAILABILITY_TYPES = ("availability_table", "availability_per_slice")
MIN_YEAR, MAX_YEAR = 2000, 2100
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Period:
    """A calendar month or year in the contract's zone, as UTC instants."""

    label: str
    kind: str  # "month" or "year"
    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        """The period's last local date (claim windows count from it)."""
        return (self.end - timedelta(seconds=1)).date()


@dataclass(frozen=True)
class Measure:
    """One contract's availability over one period, and what it owes."""

    contract: Contract
    remedy: Remedy
    period: Period
    total_minutes: Decimal
    downtime_minutes: Decimal
    excluded_minutes: Decimal
    availability: Decimal
    missed: bool
    percent: Decimal  # of the monthly fee
    result: RemedyResult
    fee_known: bool
    tickets: list[str] = field(default_factory=list)
    complete: bool = True  # the period has ended

    @property
    def step(self) -> str:
        """The threshold crossed (one notice each): a table step, or "missed"."""
        if not self.missed:
            return ""
        if self.remedy.type == "availability_table":
            return f"below-{self.threshold}"
        return "missed"

    @property
    def threshold(self) -> str:
        """The lowest `below_percent` the figure is under (table remedies)."""
        crossed = [
            s.below_percent
            for s in self.remedy.steps
            if s.below_percent is not None and self.availability < s.below_percent
        ]
        return f"{min(crossed).normalize():f}" if crossed else ""


# --------------------------------------------------------------------------- periods


def availability_remedy(pack: ContractPack, service_level: str | None) -> Remedy | None:
    """The contract's availability remedy (None: the contract promises no availability)."""
    for remedy in pack.remedies:
        if remedy.type not in AVAILABILITY_TYPES:
            continue
        levels = remedy.applies_to.get("service_level")
        if levels is None or service_level in levels:
            return remedy
    return None


def _month(year: int, month: int, zone: ZoneInfo) -> Period:
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return Period(f"{year:04d}-{month:02d}", "month", start.astimezone(UTC), end.astimezone(UTC))


def _year(year: int, zone: ZoneInfo) -> Period:
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    return Period(
        f"{year:04d}", "year", start, datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    )


def periods(*, text: str, remedy: Remedy, zone: str, now: datetime) -> list[Period]:
    """The periods asked for: `2026`, `2026-11` or nothing (the current one of the remedy).

    A year on a monthly remedy gives its months up to now; a month on a yearly remedy gives
    its year (the contract measures the whole year).
    """
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    word = text.strip().lower()
    kind = remedy.period or "month"
    if word in ("", "month", "mois", "maand", "year", "année", "jaar"):
        return [_year(local.year, tz) if kind == "year" else _month(local.year, local.month, tz)]
    if match := re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", word, re.ASCII):
        year, month = int(match[1]), int(match[2])
        if not MIN_YEAR <= year <= MAX_YEAR or not 1 <= month <= 12:
            raise InputError("month out of range", reason="month")
        return [_year(year, tz) if kind == "year" else _month(year, month, tz)]
    if match := re.fullmatch(r"([0-9]{4})", word, re.ASCII):
        year = int(match[1])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InputError("year out of range", reason="year")
        if kind == "year":
            return [_year(year, tz)]
        months = [_month(year, m, tz) for m in range(1, 13)]
        return [p for p in months if p.start <= now] or months[:1]
    raise InputError("unknown period", reason="unknown")


def period_of(*, remedy: Remedy, zone: str, at: datetime) -> Period:
    """The remedy's period that contains `at`."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    return _year(local.year, tz) if remedy.period == "year" else _month(local.year, local.month, tz)


# --------------------------------------------------------------------------- intervals


def _union(spans: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _minus(spans: list[Interval], holes: list[Interval]) -> list[Interval]:
    result = list(spans)
    for hs, he in _union(holes):
        cut: list[Interval] = []
        for s, e in result:
            if he <= s or e <= hs:
                cut.append((s, e))
                continue
            if s < hs:
                cut.append((s, hs))
            if he < e:
                cut.append((he, e))
        result = cut
    return result


def _length(spans: list[Interval], calendar: BusinessCalendar | None) -> Decimal:
    """Minutes in the spans, counted in the calendar's windows when there is one."""
    micros = 0
    for start, end in spans:
        if calendar is None:
            micros += to_us(end) - to_us(start)
        else:
            micros += calendar.measure_us(to_us(start), to_us(end))
    return Decimal(micros) / Decimal(60_000_000)


# --------------------------------------------------------------------------- measure


def _outage_query(*, contract: Contract, remedy: Remedy, period: Period) -> Any:
    """SELECT the contract's outage tickets that overlap the period."""
    query = select(Ticket).where(
        Ticket.contract_id == contract.id,
        col(Ticket.logged_at) < period.end,
        (col(Ticket.resolved_at).is_(None)) | (col(Ticket.resolved_at) > period.start),
    )
    for key, column in (("kind", Ticket.kind), ("priority", Ticket.priority)):
        values = remedy.applies_to.get(key)
        if values:
            query = query.where(col(column).in_(values))
    return query


def outage_tickets(
    *, session: Session, contract: Contract, remedy: Remedy, period: Period
) -> list[Ticket]:
    """The contract's outage tickets that overlap the period."""
    query = _outage_query(contract=contract, remedy=remedy, period=period)
    return list(session.exec(query.order_by(col(Ticket.logged_at))).all())


def _outage_pauses(
    *, session: Session, contract: Contract, remedy: Remedy, period: Period
) -> dict[int, list[TicketPause]]:
    """The stop-clocks of those tickets, per ticket (one statement, however many tickets)."""
    tickets = _outage_query(contract=contract, remedy=remedy, period=period)
    query = select(TicketPause).where(
        col(TicketPause.ticket_id).in_(tickets.with_only_columns(col(Ticket.id)))
    )
    found: dict[int, list[TicketPause]] = defaultdict(list)
    for pause in session.exec(query.order_by(col(TicketPause.started_at))).all():
        found[pause.ticket_id].append(pause)
    return found


def _calendar(pack: ContractPack, contract: Contract, remedy: Remedy) -> BusinessCalendar | None:
    """The window downtime counts in: the outage tickets' restoration window (None: 24x7)."""
    kind = (remedy.applies_to.get("kind") or [pack.kinds[0].id])[0]
    priority = (remedy.applies_to.get("priority") or [pack.priorities[0].id])[0]
    try:
        targets = targets_for(
            pack, kind=kind, priority=priority, service_level=contract.service_level
        )
    except NoTargetEntryError:
        return None
    return None if targets.resolution is None else targets.resolution.calendar


def measure(*, session: Session, contract: Contract, period: Period, now: datetime) -> Measure:
    """The contract's availability over `period` as of `now` (InputError: no commitment)."""
    pack = get_pack(contract.pack_id)
    terms = terms_of(session=session, contract=contract, pack=pack)
    remedy = availability_remedy(pack, contract.service_level)
    if remedy is None:
        raise InputError("the contract promises no availability", reason="none")
    until = min(period.end, now)
    found = outage_tickets(session=session, contract=contract, remedy=remedy, period=period)
    pauses = _outage_pauses(session=session, contract=contract, remedy=remedy, period=period)
    spans: list[Interval] = []
    for ticket in found:
        assert ticket.id is not None
        end = ticket.resolved_at or now
        paused = [
            (p.started_at, p.ended_at or now)
            for p in pauses.get(ticket.id, [])
            if p.stops is None or "resolution" in p.stops.split(",")
        ]
        spans.extend(_minus([(ticket.logged_at, end)], paused))
    down = [
        (max(s, period.start), min(e, until))
        for s, e in _union(spans)
        if s < until and e > period.start
    ]
    calendar = _calendar(pack, contract, remedy)
    holes: list[Interval] = []
    if maintenance_excluded(pack) and down:
        holes = maintenance.overlap_minutes(
            session=session,
            provider_code=pack.provider_code,
            tenant_id=contract.tenant_id,
            start=period.start,
            end=until,
        )
    counted = _minus(down, holes)
    downtime = _length(counted, calendar)
    excluded = _length(down, calendar) - downtime
    total = Decimal(int((period.end - period.start).total_seconds()) // 60)
    fee = terms.monthly_fee
    result = _remedy(
        remedy=remedy, fee=fee or Decimal(0), down=downtime, total=total, period=period
    )
    rate = (total - downtime) * HUNDRED / total
    percent = _percent(remedy, downtime, rate)
    return Measure(
        contract=contract,
        remedy=remedy,
        period=period,
        total_minutes=total,
        downtime_minutes=downtime,
        excluded_minutes=excluded,
        availability=rate,
        missed=percent > 0,
        percent=percent,
        result=result,
        fee_known=fee is not None,
        tickets=[t.reference for t in found],
        complete=period.end <= now,
    )


def _remedy(
    *, remedy: Remedy, fee: Decimal, down: Decimal, total: Decimal, period: Period
) -> RemedyResult:
    if remedy.type == "availability_per_slice":
        return availability_per_slice(
            remedy=remedy,
            monthly_fee=fee,
            downtime_minutes=down,
            period_minutes=total,
            period_end=period.last_day,
        )
    rate = (total - down) * HUNDRED / total
    return availability_table(
        remedy=remedy, monthly_fee=fee, availability=rate, period_end=period.last_day
    )


def _percent(remedy: Remedy, down: Decimal, rate: Decimal) -> Decimal:
    """What the figure owes, in percent of the monthly fee (capped like the amount)."""
    if remedy.type == "availability_per_slice":
        tolerated = remedy.max_downtime_minutes
        target = remedy.availability_target or HUNDRED
        missed = down > tolerated if tolerated is not None else rate < target
        if not missed or remedy.slice_minutes is None or remedy.percent is None:
            return Decimal(0)
        slices = (down / remedy.slice_minutes).to_integral_value(rounding=ROUND_CEILING)
        owed = remedy.percent * slices
    else:
        crossed = [
            s for s in remedy.steps if s.below_percent is not None and rate < s.below_percent
        ]
        owed = min(crossed, key=lambda s: s.below_percent or 0).percent if crossed else Decimal(0)
    if remedy.cap_monthly_fees is not None:
        owed = min(owed, remedy.cap_monthly_fees * HUNDRED)
    return owed


def contracts_of(
    *, session: Session, tenant_id: int, contract_id: int | None = None
) -> list[Contract]:
    """The tenant's active contracts that promise an availability (or the one asked for)."""
    query = select(Contract).where(Contract.tenant_id == tenant_id, col(Contract.active).is_(True))
    if contract_id is not None:
        query = query.where(Contract.id == contract_id)
    found = []
    for contract in session.exec(query.order_by(col(Contract.id))).all():
        if availability_remedy(get_pack(contract.pack_id), contract.service_level) is not None:
            found.append(contract)
    return found


# --------------------------------------------------------------------------- crossing


@dataclass(frozen=True)
class _Outages:
    """What makes a contract's tickets outages: its availability remedy, in its zone."""

    contract: Contract
    remedy: Remedy
    zone: str

    def applies(self, *, kind: str, priority: str) -> bool:
        """Whether a ticket of this kind and priority is an outage."""
        facts = {"kind": kind, "priority": priority}
        return all(facts[k] in v for k, v in self.remedy.applies_to.items() if k in facts)

    def touched(self, *, logged_at: datetime, end: datetime) -> list[Period]:
        """The periods an outage from `logged_at` to `end` counts in (one or two)."""
        found = {
            period.label: period
            for period in (
                period_of(remedy=self.remedy, zone=self.zone, at=logged_at),
                period_of(remedy=self.remedy, zone=self.zone, at=end),
            )
        }
        return list(found.values())


def _outages(*, session: Session, contract: Contract | None) -> _Outages | None:
    """The contract's availability remedy and zone (None: it promises no availability)."""
    if contract is None or contract.id is None:
        return None
    pack = get_pack(contract.pack_id)
    remedy = availability_remedy(pack, contract.service_level)
    if remedy is None:
        return None
    zone = terms_of(session=session, contract=contract, pack=pack).zone
    return _Outages(contract=contract, remedy=remedy, zone=zone)


def record_crossing(
    *,
    session: Session,
    ticket: Ticket,
    now: datetime,
    text: Callable[[Translator, Measure], str],
) -> list[Claim]:
    """After an outage ticket's resolution: a crossed threshold becomes a claim, told once.

    The periods the ticket touched are measured again; a missed one is recorded (or its open
    claim raised to the new amount) and the customer's managers hear of each threshold once
    (one outbox row per manager and threshold, by idempotency key).
    """
    outages = _outages(session=session, contract=session.get(Contract, ticket.contract_id))
    if outages is None or not outages.applies(kind=ticket.kind, priority=ticket.priority):
        return []
    recorded: list[Claim] = []
    for period in outages.touched(logged_at=ticket.logged_at, end=ticket.resolved_at or now):
        figure = measure(session=session, contract=outages.contract, period=period, now=now)
        claim = record_missed(session=session, figure=figure, now=now, text=text)
        if claim is not None:
            recorded.append(claim)
    return recorded


def record_missed(
    *,
    session: Session,
    figure: Measure,
    now: datetime,
    text: Callable[[Translator, Measure], str],
) -> Claim | None:
    """A missed figure: its claim recorded (or raised to the new amount) when the fee is
    known, and the customer's managers told of its threshold once; None when not recorded."""
    if not figure.missed:
        return None
    contract, period, remedy = figure.contract, figure.period, figure.remedy
    key = f"{remedy.id}:contract:{contract.id}:{period.label}"
    claim = claims.get(session=session, key=key)
    if figure.fee_known:
        if claim is None:
            try:
                # A worker checking an open outage may record the same period at once.
                with session.begin_nested():
                    claim = claims.record(
                        session=session,
                        key=key,
                        contract=contract,
                        result=figure.result,
                        remedy_type=remedy.type,
                        period=period.label,
                        event_day=period.last_day,
                        facts=_facts(figure),
                        now=now,
                    )
            except IntegrityError:
                claim = claims.get(session=session, key=key)
                if claim is None:
                    raise
        else:
            claims.raise_amount(
                session=session, claim=claim, amount=figure.result.amount, facts=_facts(figure)
            )
    else:
        claim = None
    _tell_managers(session=session, figure=figure, now=now, text=text)
    return claim


def _facts(figure: Measure) -> dict[str, str]:
    return {
        "availability": f"{figure.availability.quantize(Decimal('0.0001'))}",
        "downtime_minutes": f"{figure.downtime_minutes.quantize(Decimal('0.01'))}",
        "excluded_minutes": f"{figure.excluded_minutes.quantize(Decimal('0.01'))}",
        "tickets": ",".join(figure.tickets),
        "percent": f"{figure.percent.normalize():f}",
    }


def _tell_managers(
    *, session: Session, figure: Measure, now: datetime, text: Callable[[Translator, Measure], str]
) -> None:
    managers = session.exec(
        select(User).where(
            User.role == Role.MANAGER,
            User.tenant_id == figure.contract.tenant_id,
            col(User.active).is_(True),
        )
    ).all()
    for manager in managers:
        notify.emit_to_user(
            session=session,
            user=manager,
            audience="manager",
            event="availability",
            now=now,
            key=f"avail:{figure.contract.id}:{figure.period.label}:{figure.step}:u{manager.id}",
            text=lambda t: text(t, figure),
        )


def missed_by_open_outages(*, session: Session, now: datetime) -> list[tuple[int, Period]]:
    """The periods (contract id, period) that outages still open have made missed, each
    contract's period measured once however many of its outages are open (reads only)."""
    priorities = sorted(
        {
            value
            for pack in load_packs().values()
            for remedy in pack.remedies
            if remedy.type in AVAILABILITY_TYPES
            for value in remedy.applies_to.get("priority", [])
        }
    )
    query = select(Ticket.contract_id, Ticket.kind, Ticket.priority, Ticket.logged_at).where(
        col(Ticket.status).in_(TicketStatus.open_statuses()),
        col(Ticket.priority).in_(priorities),
    )
    terms: dict[int, _Outages | None] = {}
    touched: dict[tuple[int, str], Period] = {}
    for contract_id, kind, priority, logged_at in session.exec(query).all():
        if contract_id not in terms:
            terms[contract_id] = _outages(
                session=session, contract=session.get(Contract, contract_id)
            )
        outages = terms[contract_id]
        if outages is None or not outages.applies(kind=kind, priority=priority):
            continue
        for period in outages.touched(logged_at=logged_at, end=now):
            touched[(contract_id, period.label)] = period
    missed: list[tuple[int, Period]] = []
    for (contract_id, _label), period in sorted(touched.items(), key=lambda item: item[0]):
        outages = terms[contract_id]
        assert outages is not None
        figure = measure(session=session, contract=outages.contract, period=period, now=now)
        if figure.missed:
            missed.append((contract_id, period))
    return missed


def record_missed_periods(
    *,
    session: Session,
    missed: list[tuple[int, Period]],
    now: datetime,
    text: Callable[[Translator, Measure], str],
) -> int:
    """Record the periods open outages made missed (`missed_by_open_outages`' answer, found
    in a read transaction), each measured again in this writing one; returns the claims
    recorded or raised."""
    found = 0
    for contract_id, period in missed:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        figure = measure(session=session, contract=contract, period=period, now=now)
        found += record_missed(session=session, figure=figure, now=now, text=text) is not None
    return found
