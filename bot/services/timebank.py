"""Time banks (Alteo 4.1.4): a monthly allowance of support hours plus extra hours bought.

The balance stays a sum of ledger entries; time-driven events are written as entries too:

* ``allowance``: the month's hours, dated the first instant of the period (the credit day at
  00:00 in the contract's zone) and expiring at the next period's first instant;
* ``purchase``: extra hours, expiring ``extra_validity_days`` later at the same wall-clock
  time in the contract's zone;
* ``charge``: time consumed for a ticket, in the pack's increments with its minimum, one
  entry per bucket drawn from (``related_id`` = the allowance or purchase entry);
* ``expiry``: what is left of a bucket when it expires, dated its expiry instant.

Allowance and expiry entries are written by ``ensure_period``, idempotently: call it (or
``consume``, which calls it) whenever the account is used; until then ``usable_hours`` counts
the current period's allowance as if it were written. Month boundaries are computed in the
contract's zone (``pricing.terms.pack_zone``: Europe/Paris for Alteo); instants are aware UTC.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.db.models import Contract, LedgerEntry, LedgerEntryType
from bot.services import ledger
from bot.services.contracts import terms_of
from bot.services.errors import InputError
from pricing.schema import ContractPack, TimeBank
from pricing.terms import pack_zone

BUCKET_TYPES = frozenset({LedgerEntryType.ALLOWANCE, LedgerEntryType.PURCHASE})


class TimeBankError(ledger.LedgerError):
    """A time-bank operation the contract's rules refuse."""

    code = "time_bank"


class InsufficientTimeError(TimeBankError):
    """The live buckets do not cover the time consumed (params: needed, remaining)."""

    code = "insufficient_time"


@dataclass(frozen=True)
class Bucket:
    """An allowance or a purchase of extra hours, with what is left of it."""

    entry: LedgerEntry
    remaining: Decimal

    @property
    def is_allowance(self) -> bool:
        """True for the monthly allowance, False for extra hours."""
        return self.entry.type is LedgerEntryType.ALLOWANCE


@dataclass(frozen=True)
class Consumption:
    """The hours a ticket consumed and the entries that drew them."""

    minutes: int
    counted_minutes: int
    hours: Decimal
    entries: tuple[LedgerEntry, ...]
    beyond: Decimal = Decimal(0)


@dataclass(frozen=True)
class Period:
    """One allowance period: [start, end) in UTC, labelled by the local year and month."""

    year: int
    month: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class MonthlyStatement:
    """A month: opening + allowance + extras + billed beyond - consumed - expired = closing."""

    period: Period
    opening: Decimal
    allowance: Decimal
    extras_bought: Decimal
    consumed: dict[int | None, Decimal]
    consumed_total: Decimal
    expired: Decimal
    billed_beyond: Decimal
    other: Decimal
    closing: Decimal


# --------------------------------------------------------------------------- rules


def rules_of(pack: ContractPack) -> TimeBank:
    """The pack's time-bank rules, or TimeBankError if it has none."""
    if pack.balance.time_bank is None:
        raise TimeBankError(f"pack {pack.id} has no time bank", pack_id=pack.id)
    return pack.balance.time_bank


def _zone(pack: ContractPack) -> ZoneInfo:
    return ZoneInfo(pack_zone(pack))


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period(*, pack: ContractPack, year: int, month: int) -> Period:
    """The allowance period labelled (year, month), from its credit day to the next one."""
    day = rules_of(pack).credit_day
    zone = _zone(pack)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Period(
        year=year,
        month=month,
        start=_local_midnight(date(year, month, day), zone),
        end=_local_midnight(date(next_year, next_month, day), zone),
    )


def period_at(*, pack: ContractPack, instant: datetime) -> Period:
    """The allowance period containing ``instant`` (read in the contract zone)."""
    local = _aware(instant).astimezone(_zone(pack))
    year, month = local.year, local.month
    if local.day < rules_of(pack).credit_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return period(pack=pack, year=year, month=month)


def extra_expiry(*, pack: ContractPack, bought_at: datetime) -> datetime:
    """When extra hours bought at ``bought_at`` expire: N days later, same local wall time."""
    zone = _zone(pack)
    local = _aware(bought_at).astimezone(zone)
    days = rules_of(pack).extra_validity_days
    later = datetime.combine(local.date() + timedelta(days=days), local.time(), tzinfo=zone)
    return later.astimezone(UTC)


def counted_minutes(*, pack: ContractPack, minutes: int) -> int:
    """Minutes counted: rounded up to the increment, at least the minimum (15 min for Alteo)."""
    if minutes < 0:
        raise InputError(f"minutes must not be negative, got {minutes}")
    rules = rules_of(pack)
    step = rules.increment_minutes
    return max(rules.minimum_minutes, -(-minutes // step) * step)


def _hours(minutes: int) -> Decimal:
    context = decimal.Context(prec=28, traps=[decimal.Inexact])
    try:
        return context.divide(Decimal(minutes), Decimal(60))
    except decimal.Inexact:
        raise TimeBankError(f"{minutes} minutes is not an exact number of hours") from None


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise InputError("instants must be timezone-aware")
    return instant


# --------------------------------------------------------------------------- reading


def buckets(*, session: Session, contract_id: int, now: datetime) -> list[Bucket]:
    """Buckets live at ``now`` with hours left, in drawing order.

    Drawing order: earliest expiry first, so paid extra hours that expire before the
    month's allowance are used before it and the customer loses nothing they paid for; at
    equal expiry the allowance goes first (contracts digest, decision 13).
    """
    rows = ledger.entries(session=session, contract_id=contract_id)
    drawn: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.related_id is not None and row.type not in BUCKET_TYPES:
            drawn[row.related_id] += row.amount
    live = [
        Bucket(entry=row, remaining=row.amount + drawn[row.id or 0])
        for row in rows
        if row.type in BUCKET_TYPES
        and row.at <= now
        and (row.expires_at is None or now < row.expires_at)
    ]
    live = [bucket for bucket in live if bucket.remaining > 0]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        live,
        key=lambda b: (b.entry.expires_at or far, not b.is_allowance, b.entry.id or 0),
    )


def remaining(*, session: Session, contract_id: int, now: datetime) -> Decimal:
    """Hours usable at ``now``: what is left in the live buckets."""
    rows = buckets(session=session, contract_id=contract_id, now=_aware(now))
    return sum((b.remaining for b in rows), Decimal(0))


def usable_hours(
    *, session: Session, contract: Contract, pack: ContractPack, now: datetime
) -> Decimal:
    """Hours usable at ``now``, counting this period's allowance even if not yet credited.

    This is the customer's time-bank figure (``accounts.customer_balance``): the allowance is
    due from the period's first instant, whether or not ``ensure_period`` has written it yet.
    """
    assert contract.id is not None
    now = _aware(now)
    left = remaining(session=session, contract_id=contract.id, now=now)
    current = period_at(pack=pack, instant=now)
    credited = any(
        row.type is LedgerEntryType.ALLOWANCE and current.start <= row.at < current.end
        for row in ledger.entries(session=session, contract_id=contract.id)
    )
    if credited:
        return left
    return left + terms_of(session=session, contract=contract, pack=pack).monthly_allowance_hours


# --------------------------------------------------------------------------- writing


def ensure_period(
    *, session: Session, contract_id: int, now: datetime, pack: ContractPack | None = None
) -> list[LedgerEntry]:
    """Credit the current period's allowance once and expire what is past; returns new rows."""
    now = _aware(now)
    contract = ledger.lock_account(session=session, contract_id=contract_id)
    pack = ledger.pack_for(contract, pack)
    rules = rules_of(pack)
    current = period_at(pack=pack, instant=now)
    rows = ledger.entries(session=session, contract_id=contract_id)
    written: list[LedgerEntry] = []

    drawn: dict[int, Decimal] = defaultdict(Decimal)
    expired: set[int] = set()
    for row in rows:
        if row.related_id is not None and row.type not in BUCKET_TYPES:
            drawn[row.related_id] += row.amount
        if row.type is LedgerEntryType.EXPIRY and row.related_id is not None:
            expired.add(row.related_id)
    for row in rows:
        if (
            row.type in BUCKET_TYPES
            and row.expires_at is not None
            and row.expires_at <= now
            and row.id not in expired
        ):
            left = row.amount + drawn[row.id or 0]
            if left > 0:
                what = "allowance" if row.type is LedgerEntryType.ALLOWANCE else "extra hours"
                written.append(
                    ledger.append_entry(
                        session=session,
                        contract=contract,
                        pack=pack,
                        type=LedgerEntryType.EXPIRY,
                        amount=-left,
                        at=row.expires_at,
                        reason=f"unused {what} expired",
                        related_id=row.id,
                    )
                )

    credited = any(
        row.type is LedgerEntryType.ALLOWANCE and current.start <= row.at < current.end
        for row in rows
    )
    hours = terms_of(session=session, contract=contract, pack=pack).monthly_allowance_hours
    if not credited and hours > 0:
        label = f"{current.year:04d}-{current.month:02d}"
        written.append(
            ledger.append_entry(
                session=session,
                contract=contract,
                pack=pack,
                type=LedgerEntryType.ALLOWANCE,
                amount=hours,
                at=current.start,
                reason=f"monthly allowance {label}"
                + (f" ({rules.clause})" if rules.clause else ""),
                expires_at=None if rules.carry_over else current.end,
            )
        )
    return written


def buy_extra(
    *,
    session: Session,
    contract_id: int,
    hours: Decimal,
    now: datetime,
    actor_id: int | None = None,
    pack: ContractPack | None = None,
    invoice_line: str | None = None,
) -> LedgerEntry:
    """Add extra hours bought at ``now``, valid for the pack's validity period."""
    now = _aware(now)
    contract = ledger.get_contract(session=session, contract_id=contract_id)
    pack = ledger.pack_for(contract, pack)
    days = rules_of(pack).extra_validity_days
    return ledger.purchase(
        session=session,
        contract_id=contract_id,
        amount=hours,
        actor_id=actor_id,
        pack=pack,
        reason=f"extra hours, valid {days} days",
        invoice_line=invoice_line or f"Extra support hours: {hours} h",
        expires_at=extra_expiry(pack=pack, bought_at=now),
        at=now,
    )


def consume(
    *,
    session: Session,
    contract_id: int,
    ticket_id: int,
    minutes: int,
    now: datetime,
    actor_id: int | None = None,
    pack: ContractPack | None = None,
    bill_beyond: bool = False,
) -> Consumption:
    """Record the time an agent spent on a ticket, drawing the hours that expire first.

    When the live buckets do not cover it: InsufficientTimeError (no time drawn), or with
    ``bill_beyond`` the part beyond the bank is charged without a bucket and billed at once
    by a ``top_up`` entry of the same hours carrying the invoice line (so the bank's balance
    never goes negative).
    """
    now = _aware(now)
    contract = ledger.lock_account(session=session, contract_id=contract_id)
    pack = ledger.pack_for(contract, pack)
    # Under the account's lock: a ticket's time is drawn once, whoever resolves it.
    drawn = ledger.entries(session=session, contract_id=contract_id, ticket_id=ticket_id)
    if any(row.type is LedgerEntryType.CHARGE for row in drawn):
        raise ledger.AlreadyChargedError(
            f"ticket {ticket_id} has already drawn the time bank", ticket_id=ticket_id
        )
    counted = counted_minutes(pack=pack, minutes=minutes)
    needed = _hours(counted)
    ensure_period(session=session, contract_id=contract_id, now=now, pack=pack)
    live = buckets(session=session, contract_id=contract_id, now=now)
    left = sum((b.remaining for b in live), Decimal(0))
    if left < needed and not bill_beyond:
        raise InsufficientTimeError(
            f"{needed} h needed, {left} h left in the time bank", needed=needed, remaining=left
        )
    note = f"{counted} min counted ({minutes} min recorded)"
    written: list[LedgerEntry] = []
    due = needed
    for bucket in live:
        if due <= 0:
            break
        take = min(due, bucket.remaining)
        written.append(
            ledger.append_entry(
                session=session,
                contract=contract,
                pack=pack,
                type=LedgerEntryType.CHARGE,
                amount=-take,
                at=now,
                ticket_id=ticket_id,
                actor_id=actor_id,
                reason=note,
                related_id=bucket.entry.id,
            )
        )
        due -= take
    if due > 0:
        beyond = ledger.append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.CHARGE,
            amount=-due,
            at=now,
            ticket_id=ticket_id,
            actor_id=actor_id,
            reason=f"{note}: beyond the time bank",
        )
        billed = ledger.append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.TOP_UP,
            amount=due,
            at=now,
            ticket_id=ticket_id,
            actor_id=actor_id,
            reason="hours beyond the time bank, billed",
            invoice_line=f"Support hours beyond the time bank: {due} h",
            related_id=beyond.id,
        )
        written += [beyond, billed]
    return Consumption(
        minutes=minutes,
        counted_minutes=counted,
        hours=needed,
        entries=tuple(written),
        beyond=max(due, Decimal(0)),
    )


# --------------------------------------------------------------------------- statement


def _before(row: LedgerEntry, instant: datetime) -> bool:
    # An expiry happens at the end of its bucket's validity: it closes the period that ends
    # at that instant, so an expiry dated exactly at a boundary belongs to the earlier period.
    if row.type is LedgerEntryType.EXPIRY:
        return row.at <= instant
    return row.at < instant


def statement(
    *,
    session: Session,
    contract_id: int,
    year: int,
    month: int,
    pack: ContractPack | None = None,
) -> MonthlyStatement:
    """The month's movements; run ``ensure_period`` first for an up-to-date account."""
    contract = ledger.get_contract(session=session, contract_id=contract_id)
    pack = ledger.pack_for(contract, pack)
    span = period(pack=pack, year=year, month=month)
    rows = ledger.entries(session=session, contract_id=contract_id)
    opening = ledger.total(row for row in rows if _before(row, span.start))
    inside = [row for row in rows if _before(row, span.end) and not _before(row, span.start)]
    consumed: dict[int | None, Decimal] = defaultdict(Decimal)
    allowance = extras = expired = billed = other = Decimal(0)
    for row in inside:
        if row.type is LedgerEntryType.ALLOWANCE:
            allowance += row.amount
        elif row.type is LedgerEntryType.PURCHASE:
            extras += row.amount
        elif row.type is LedgerEntryType.CHARGE:
            consumed[row.ticket_id] -= row.amount
        elif row.type is LedgerEntryType.EXPIRY:
            expired -= row.amount
        elif row.type is LedgerEntryType.TOP_UP:
            billed += row.amount
        else:
            other += row.amount
    consumed_total = sum(consumed.values(), Decimal(0))
    return MonthlyStatement(
        period=span,
        opening=opening,
        allowance=allowance,
        extras_bought=extras,
        consumed=dict(consumed),
        consumed_total=consumed_total,
        expired=expired,
        billed_beyond=billed,
        other=other,
        closing=opening + allowance + extras + billed - consumed_total - expired + other,
    )
