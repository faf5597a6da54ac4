"""What a provider owes on a missed SLA target, computed from a pack's ``remedies`` entries.

Pure functions: the caller supplies the facts (the credits due, the monthly fee, the
downtime, the overrun); the numbers (percentages, steps, caps, claim windows) come from the
pack's ``Remedy`` entries, so a new provider reuses a remedy type by writing data only.

Threshold semantics, the same for every type:

* "below X %" is strictly less: an availability of exactly X % owes nothing;
* a step "up to N minutes" includes N: an overrun of exactly 60 minutes is in the
  "up to +1 h" step, 60 minutes and one second is in the next one;
* slices count every *started* slice: 1 to 60 minutes of downtime is one 60-minute slice,
  61 minutes two;
* caps are in monthly fees and bound the sum granted in the cap's period (the caller says
  what was already granted in it).

Amounts are exact decimals in the contract's currency (EUR) or balance unit (credits), not
rounded to cents.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from pricing.schema import ContractPack, PenaltyStep, Remedy

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class RemedyError(ValueError):
    """A remedy cannot be computed: missing pack entry or field, or a bad input."""


@dataclass(frozen=True)
class RemedyResult:
    """What is owed, in which unit, why, under which clause, and until when to claim it."""

    amount: Decimal
    unit: str
    basis: str
    clause: str
    claim_deadline: date | None
    remedy_id: str
    capped: bool = False


# --------------------------------------------------------------------------- helpers


def find_remedy(pack: ContractPack, type: str, remedy_id: str | None = None) -> Remedy:
    """The pack's remedy of this type (and id, when given), or RemedyError."""
    for remedy in pack.remedies:
        if remedy.type == type and (remedy_id is None or remedy.id == remedy_id):
            return remedy
    wanted = f"{type} remedy" + (f" {remedy_id!r}" if remedy_id else "")
    raise RemedyError(f"pack {pack.id} has no {wanted}")


def claim_deadline(remedy: Remedy, event_day: date) -> date | None:
    """The last day to claim, from the remedy's claim window (None when it has none).

    ``end_of_month``: N months after the end of the event's month, i.e. the last day of the
    Nth month after it (a breach on 15 January, 3 months: 30 April).
    ``event``: the same day N months after the event (clamped to the month's last day).
    """
    months = remedy.claim_window_months
    if months is None:
        return None
    index = event_day.year * 12 + event_day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    if remedy.claim_window_from == "event":
        return date(year, month, min(event_day.day, last))
    return date(year, month, last)


def month_minutes(year: int, month: int, zone: str | ZoneInfo = "UTC") -> Decimal:
    """Elapsed minutes in a calendar month in ``zone`` (one hour less or more across DST)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(date(next_year, next_month, 1), time(0), tzinfo=tz).astimezone(UTC)
    return Decimal(int((end - start).total_seconds()) // 60)


def _need(value: Decimal | int | None, remedy: Remedy, field: str) -> Decimal:
    if value is None:
        raise RemedyError(f"remedy {remedy.id} has no {field}")
    return Decimal(value)


def _non_negative(value: Decimal | int, what: str) -> Decimal:
    number = Decimal(value)
    if not number.is_finite() or number < 0:
        raise RemedyError(f"{what} must be a non-negative number, got {value}")
    return number


def _cap(
    remedy: Remedy, monthly_fee: Decimal, amount: Decimal, already_granted: Decimal
) -> tuple[Decimal, bool]:
    if remedy.cap_monthly_fees is None:
        return amount, False
    room = max(ZERO, remedy.cap_monthly_fees * monthly_fee - already_granted)
    return (room, True) if amount > room else (amount, False)


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f} %"


# --------------------------------------------------------------------------- remedy types


def waiver(*, remedy: Remedy, credits_due: Decimal, unit: str = "credits") -> RemedyResult:
    """Type ``waiver`` (Telenet 5.1 a): the credits due for the intervention are not charged."""
    due = _non_negative(credits_due, "credits due")
    return RemedyResult(
        amount=due,
        unit=unit,
        basis=f"{due} {unit} due for the intervention waived (target missed)",
        clause=remedy.clause,
        claim_deadline=None,
        remedy_id=remedy.id,
    )


def service_credit_per_breach(
    *,
    remedy: Remedy,
    monthly_fee: Decimal,
    breaches: int,
    breach_day: date,
    already_granted: Decimal = ZERO,
) -> RemedyResult:
    """Type ``service_credit_per_breach`` (Proximus P1): ``fee_months`` per missed target.

    Capped at ``cap_monthly_fees`` monthly fees per ``cap_period`` (Proximus: one fee per
    calendar month); ``already_granted`` is what was already granted in that period.
    """
    fee = _non_negative(monthly_fee, "monthly fee")
    if breaches < 0:
        raise RemedyError(f"breaches must not be negative, got {breaches}")
    per = _need(remedy.fee_months, remedy, "fee_months")
    raw = per * fee * breaches
    amount, capped = _cap(remedy, fee, raw, _non_negative(already_granted, "already granted"))
    basis = f"{breaches} missed target(s) x {per.normalize():f} monthly fee of {fee}"
    if capped:
        basis += f", capped at {remedy.cap_monthly_fees} monthly fee(s) per {remedy.cap_period}"
    return RemedyResult(
        amount=amount,
        unit="eur",
        basis=basis,
        clause=remedy.clause,
        claim_deadline=claim_deadline(remedy, breach_day) if breaches else None,
        remedy_id=remedy.id,
        capped=capped,
    )


def availability_table(
    *,
    remedy: Remedy,
    monthly_fee: Decimal,
    availability: Decimal,
    period_end: date | None = None,
) -> RemedyResult:
    """Type ``availability_table`` (Proximus): the lowest threshold crossed gives the percent.

    Each step reads "availability strictly below ``below_percent`` -> ``percent`` of the
    monthly fee"; only the strongest step reached applies (99.4 % gives 5 %, not 1.5 + 5).
    """
    fee = _non_negative(monthly_fee, "monthly fee")
    rate = _non_negative(availability, "availability")
    if rate > HUNDRED:
        raise RemedyError(f"availability must be at most 100, got {availability}")
    steps = [s for s in remedy.steps if s.below_percent is not None]
    if not steps:
        raise RemedyError(f"remedy {remedy.id} has no below_percent steps")
    crossed = [s for s in steps if rate < (s.below_percent or ZERO)]
    deadline = claim_deadline(remedy, period_end) if period_end and crossed else None
    if not crossed:
        return RemedyResult(
            amount=ZERO,
            unit="eur",
            basis=f"availability {_pct(rate)} is not below {_pct(max(_below(s) for s in steps))}",
            clause=remedy.clause,
            claim_deadline=None,
            remedy_id=remedy.id,
        )
    step = min(crossed, key=_below)
    return RemedyResult(
        amount=fee * step.percent / HUNDRED,
        unit="eur",
        basis=(
            f"availability {_pct(rate)} below {_pct(_below(step))}: "
            f"{_pct(step.percent)} of the monthly fee of {fee}"
        ),
        clause=remedy.clause,
        claim_deadline=deadline,
        remedy_id=remedy.id,
    )


def _below(step: PenaltyStep) -> Decimal:
    return step.below_percent if step.below_percent is not None else ZERO


def availability_per_slice(
    *,
    remedy: Remedy,
    monthly_fee: Decimal,
    downtime_minutes: Decimal,
    period_minutes: Decimal,
    period_end: date | None = None,
) -> RemedyResult:
    """Type ``availability_per_slice`` (Alteo 5.1): ``percent`` per started slice of downtime.

    Owed when the downtime exceeds ``max_downtime_minutes`` (a fixed tolerance, whatever the
    period's length: Alteo's 43 min 12 s a month), or, for a remedy without one, when the
    availability (period - downtime) / period is strictly below ``availability_target``;
    then every started ``slice_minutes`` of downtime counts, capped at
    ``cap_monthly_fees`` monthly fees.
    """
    fee = _non_negative(monthly_fee, "monthly fee")
    down = _non_negative(downtime_minutes, "downtime")
    total = _non_negative(period_minutes, "period minutes")
    if total == 0 or down > total:
        raise RemedyError("the downtime must fit in a non-empty period")
    target = _need(remedy.availability_target, remedy, "availability_target")
    percent = _need(remedy.percent, remedy, "percent")
    slice_minutes = _need(remedy.slice_minutes, remedy, "slice_minutes")
    rate = (total - down) * HUNDRED / total
    shown = _pct(rate.quantize(Decimal("0.0001")))
    tolerated = remedy.max_downtime_minutes
    missed = rate < target if tolerated is None else down > tolerated
    if not missed:
        limit = _pct(target) if tolerated is None else f"{tolerated.normalize():f} min"
        return RemedyResult(
            amount=ZERO,
            unit="eur",
            basis=f"availability {shown} is within the target ({limit} of downtime at most)"
            if tolerated is not None
            else f"availability {shown} is not below {limit}",
            clause=remedy.clause,
            claim_deadline=None,
            remedy_id=remedy.id,
        )
    slices = int((down / slice_minutes).to_integral_value(rounding=ROUND_CEILING))
    raw = fee * percent * slices / HUNDRED
    amount, capped = _cap(remedy, fee, raw, ZERO)
    basis = (
        f"availability {shown} below {_pct(target)}: {slices} started slice(s) of "
        f"{slice_minutes} min x {_pct(percent)} of the monthly fee of {fee}"
    )
    if capped:
        basis += f", capped at {remedy.cap_monthly_fees} monthly fee(s)"
    return RemedyResult(
        amount=amount,
        unit="eur",
        basis=basis,
        clause=remedy.clause,
        claim_deadline=claim_deadline(remedy, period_end) if period_end else None,
        remedy_id=remedy.id,
        capped=capped,
    )


def gtr_overrun(
    *,
    remedy: Remedy,
    monthly_fee: Decimal,
    overrun_minutes: Decimal,
    already_granted: Decimal = ZERO,
    event_day: date | None = None,
) -> RemedyResult:
    """Type ``gtr_overrun`` (Alteo 5.2): the first step whose ``up_to_minutes`` covers it.

    An overrun of 0 or less (restored within the guaranteed time) owes nothing; steps are
    inclusive (60 min -> the "up to +1 h" step); a step without ``up_to_minutes`` is
    "beyond". The sum of GTR penalties is capped at ``cap_monthly_fees`` monthly fees:
    ``already_granted`` is what earlier overruns already gave.
    """
    fee = _non_negative(monthly_fee, "monthly fee")
    over = Decimal(overrun_minutes)
    if not over.is_finite():
        raise RemedyError(f"overrun must be a number, got {overrun_minutes}")
    granted = _non_negative(already_granted, "already granted")
    if not remedy.steps:
        raise RemedyError(f"remedy {remedy.id} has no steps")
    if over <= 0:
        return RemedyResult(
            amount=ZERO,
            unit="eur",
            basis="restored within the guaranteed time",
            clause=remedy.clause,
            claim_deadline=None,
            remedy_id=remedy.id,
        )
    bounded = sorted(
        (s for s in remedy.steps if s.up_to_minutes is not None),
        key=lambda s: s.up_to_minutes or 0,
    )
    beyond = [s for s in remedy.steps if s.up_to_minutes is None]
    step = next((s for s in bounded if over <= (s.up_to_minutes or 0)), None)
    if step is None:
        if not beyond:
            raise RemedyError(f"remedy {remedy.id} has no step for an overrun of {over} min")
        step = beyond[0]
        where = f"beyond {bounded[-1].up_to_minutes} min" if bounded else "any overrun"
    else:
        where = f"up to {step.up_to_minutes} min"
    raw = fee * step.percent / HUNDRED
    amount, capped = _cap(remedy, fee, raw, granted)
    basis = f"overrun of {over.normalize():f} min ({where}): {_pct(step.percent)} of {fee}"
    if capped:
        basis += f", capped at {remedy.cap_monthly_fees} monthly fee(s) cumulated"
    return RemedyResult(
        amount=amount,
        unit="eur",
        basis=basis,
        clause=remedy.clause,
        claim_deadline=claim_deadline(remedy, event_day) if event_day else None,
        remedy_id=remedy.id,
        capped=capped,
    )
