"""SLA rule types: from a logging instant (and stop-clock pauses) to a due instant.

Every rule is reduced to one quantity, its *target time*: an amount of counted time on the
rule's calendar (window time; all time for plain calendar durations). The due instant is the
earliest instant at which counted time since logging, paused spans excluded, reaches it
(interpretation 3 and 7):

- ``business_hours``: the target is the number of hours.
- ``business_days_24h``: N x 24 h on a calendar whose windows cover whole business days.
- ``end_of_nth_business_day`` / ``next_business_day`` / ``same_day``: the due instant without
  pauses is the close of a window (interpretation 6); the target time is the window time
  between logging and that close, so a pause moves the due instant by the paused window time.
- ``calendar_duration``: elapsed hours, all time counted.
- ``best_effort``: no due instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.sla.calendar import (
    FOREVER,
    US_PER_HOUR,
    BusinessCalendar,
    Span,
    from_us,
    to_us,
)
from pricing.schema import (
    WEEKDAYS,
    BestEffortRule,
    BusinessDays24hRule,
    BusinessHoursRule,
    CalendarDurationRule,
    EndOfNthBusinessDayRule,
    NextBusinessDayRule,
    SameDayRule,
)

__all__ = [
    "Pause",
    "PauseLike",
    "Rule",
    "RuleError",
    "advance",
    "counted_time",
    "due_business_days_24h",
    "due_business_hours",
    "due_calendar_duration",
    "due_end_of_nth_business_day",
    "due_for",
    "due_next_business_day",
    "due_same_day",
    "normalise_pauses",
    "rule_advance_us",
    "rule_due_us",
    "rule_measure_us",
    "rule_target_us",
    "remaining_time",
    "target_time",
]

Rule = (
    BusinessHoursRule
    | BusinessDays24hRule
    | EndOfNthBusinessDayRule
    | NextBusinessDayRule
    | SameDayRule
    | CalendarDurationRule
    | BestEffortRule
)

_MAX_DAYS = 366 * 30
_ONE_US = timedelta(microseconds=1)


class RuleError(ValueError):
    """A rule cannot be evaluated (missing calendar, bad pause, bad amount)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """A stop-clock interval: ``end`` None means still paused; ``reason`` is notified."""

    start: datetime
    end: datetime | None = None
    reason: str = ""


PauseLike = Pause | tuple[datetime, datetime | None]


def normalise_pauses(*, pauses: Iterable[PauseLike], after: datetime | None = None) -> list[Span]:
    """Pauses as sorted, merged microsecond spans (open end = FOREVER), clipped to ``after``."""
    spans: list[Span] = []
    floor = to_us(after) if after is not None else None
    for pause in pauses:
        start, end = (pause.start, pause.end) if isinstance(pause, Pause) else pause
        s = to_us(start)
        e = FOREVER if end is None else to_us(end)
        if e < s:
            raise RuleError(f"pause ends ({end}) before it starts ({start})")
        if floor is not None:
            s = max(s, floor)
        if e > s:
            spans.append((s, e))
    spans.sort()
    merged: list[Span] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


# --------------------------------------------------------------------------- all-time base


def _advance_all_time(start: int, amount: int, pauses: Sequence[Span]) -> int | None:
    position = start
    remaining = amount
    for ps, pe in pauses:
        if pe <= position:
            continue
        if ps > position:
            if ps - position >= remaining:
                return position + remaining
            remaining -= ps - position
        if pe >= FOREVER:
            return None
        position = pe
    return position + remaining


def _measure_all_time(start: int, end: int, pauses: Sequence[Span]) -> int:
    if end <= start:
        return 0
    total = end - start
    for ps, pe in pauses:
        a, b = max(ps, start), min(pe, end)
        if a < b:
            total -= b - a
    return total


# --------------------------------------------------------------------------- base due instants


def _hours_us(hours: Decimal) -> int:
    value = (hours * US_PER_HOUR).to_integral_value(rounding=ROUND_HALF_UP)
    if value <= 0:
        raise RuleError(f"target hours must be positive, not {hours}")
    return int(value)


def _local_date(calendar: BusinessCalendar, instant: int) -> date:
    return from_us(instant).astimezone(calendar.zone).date()


def _close_of_nth_business_day(calendar: BusinessCalendar, logged: int, days: int) -> int:
    day = _local_date(calendar, logged)
    found = 0
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        if calendar.business_day(day):
            found += 1
            if found == days:
                return to_us(calendar.close_of(day))
    raise RuleError(f"calendar {calendar.id!r} has no business day within {_MAX_DAYS} days")


def _close_same_day(calendar: BusinessCalendar, logged: int, cutoffs: Mapping[str, time]) -> int:
    day = _local_date(calendar, logged)
    spans = calendar.spans_on(day)
    if spans and logged < spans[-1][1]:
        cutoff = cutoffs.get(WEEKDAYS[day.weekday()])
        before_cutoff = cutoff is None or logged < to_us(
            datetime.combine(day, cutoff, tzinfo=calendar.zone)
        )
        if before_cutoff:
            return spans[-1][1]
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        spans = calendar.spans_on(day)
        if spans:
            return spans[-1][1]
    raise RuleError(f"calendar {calendar.id!r} has no window within {_MAX_DAYS} days")


def _calendar(rule: Rule, calendar: BusinessCalendar | None) -> BusinessCalendar:
    if calendar is None:
        raise RuleError(f"rule {rule.rule} needs a calendar")
    return calendar


def _day_rule_close(rule: Rule, calendar: BusinessCalendar, logged: int) -> int | None:
    if isinstance(rule, EndOfNthBusinessDayRule):
        return _close_of_nth_business_day(calendar, logged, rule.days)
    if isinstance(rule, NextBusinessDayRule):
        return _close_of_nth_business_day(calendar, logged, 1)
    if isinstance(rule, SameDayRule):
        return _close_same_day(calendar, logged, rule.cutoffs)
    return None


def rule_target_us(*, rule: Rule, calendar: BusinessCalendar | None, logged: int) -> int | None:
    """The rule's target as counted microseconds from ``logged`` (None: no target)."""
    if isinstance(rule, BestEffortRule):
        return None
    if isinstance(rule, CalendarDurationRule | BusinessHoursRule):
        return _hours_us(rule.hours)
    if isinstance(rule, BusinessDays24hRule):
        return rule.days * 24 * US_PER_HOUR
    cal = _calendar(rule, calendar)
    close = _day_rule_close(rule, cal, logged)
    assert close is not None
    return cal.measure_us(logged, close)


def rule_advance_us(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    start: int,
    amount: int,
    pauses: Sequence[Span] = (),
) -> int | None:
    """The earliest instant at which the rule's counted time since ``start`` reaches ``amount``."""
    if isinstance(rule, CalendarDurationRule):
        return _advance_all_time(start, amount, pauses)
    return _calendar(rule, calendar).advance_us(start, amount, pauses)


def rule_measure_us(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    start: int,
    end: int,
    pauses: Sequence[Span] = (),
) -> int:
    """The rule's counted time in [start, end) with paused spans excluded (microseconds)."""
    if isinstance(rule, CalendarDurationRule):
        return _measure_all_time(start, end, pauses)
    return _calendar(rule, calendar).measure_us(start, end, pauses)


def rule_due_us(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    logged: int,
    pauses: Sequence[Span] = (),
) -> int | None:
    """The due instant in microseconds (None: best effort, or held by an open pause)."""
    if isinstance(rule, BestEffortRule):
        return None
    if isinstance(rule, CalendarDurationRule | BusinessHoursRule | BusinessDays24hRule):
        target = rule_target_us(rule=rule, calendar=calendar, logged=logged)
        assert target is not None
        return rule_advance_us(
            rule=rule, calendar=calendar, start=logged, amount=target, pauses=pauses
        )
    cal = _calendar(rule, calendar)
    close = _day_rule_close(rule, cal, logged)
    assert close is not None
    if not pauses:
        return close
    amount = cal.measure_us(logged, close)
    if amount == 0:
        return close
    return cal.advance_us(logged, amount, pauses)


# --------------------------------------------------------------------------- public API


def due_for(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    logged_at: datetime,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """The due instant of any rule (None for best effort or while an open pause holds it)."""
    logged = to_us(logged_at)
    spans = normalise_pauses(pauses=pauses, after=logged_at)
    due = rule_due_us(rule=rule, calendar=calendar, logged=logged, pauses=spans)
    return None if due is None else from_us(due)


def due_business_hours(
    *,
    calendar: BusinessCalendar,
    logged_at: datetime,
    hours: Decimal,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """N hours counted inside the calendar's windows (interpretations 3 and 4)."""
    rule = BusinessHoursRule(rule="business_hours", hours=hours, calendar=calendar.id)
    return due_for(rule=rule, calendar=calendar, logged_at=logged_at, pauses=pauses)


def due_business_days_24h(
    *,
    calendar: BusinessCalendar,
    logged_at: datetime,
    days: int,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """N x 24 h of time on business days, from logging (interpretation 5)."""
    rule = BusinessDays24hRule(rule="business_days_24h", days=days, calendar=calendar.id)
    return due_for(rule=rule, calendar=calendar, logged_at=logged_at, pauses=pauses)


def due_end_of_nth_business_day(
    *,
    calendar: BusinessCalendar,
    logged_at: datetime,
    days: int,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """Close of the window on the Nth business day after the logging day (interpretation 6)."""
    rule = EndOfNthBusinessDayRule(rule="end_of_nth_business_day", days=days, calendar=calendar.id)
    return due_for(rule=rule, calendar=calendar, logged_at=logged_at, pauses=pauses)


def due_next_business_day(
    *,
    calendar: BusinessCalendar,
    logged_at: datetime,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """Close of the window on the next business day (the Nth-day rule with N = 1)."""
    rule = NextBusinessDayRule(rule="next_business_day", calendar=calendar.id)
    return due_for(rule=rule, calendar=calendar, logged_at=logged_at, pauses=pauses)


def due_same_day(
    *,
    calendar: BusinessCalendar,
    logged_at: datetime,
    cutoffs: Mapping[str, time],
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """Close of today's window if logged before the cutoff, else of the next day with one."""
    rule = SameDayRule(rule="same_day", calendar=calendar.id, cutoffs=dict(cutoffs))
    return due_for(rule=rule, calendar=calendar, logged_at=logged_at, pauses=pauses)


def due_calendar_duration(
    *,
    logged_at: datetime,
    hours: Decimal,
    pauses: Iterable[PauseLike] = (),
) -> datetime | None:
    """Logging plus N elapsed hours, paused time excluded."""
    rule = CalendarDurationRule(rule="calendar_duration", hours=hours)
    return due_for(rule=rule, calendar=None, logged_at=logged_at, pauses=pauses)


def target_time(
    *, rule: Rule, calendar: BusinessCalendar | None, logged_at: datetime
) -> timedelta | None:
    """The counted time a rule allows from ``logged_at`` (None for best effort)."""
    target = rule_target_us(rule=rule, calendar=calendar, logged=to_us(logged_at))
    return None if target is None else timedelta(microseconds=target)


def counted_time(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    start: datetime,
    end: datetime,
    pauses: Iterable[PauseLike] = (),
) -> timedelta:
    """The time the rule counts between two instants (its calendar's windows, pauses out)."""
    spans = normalise_pauses(pauses=pauses, after=start)
    counted = rule_measure_us(
        rule=rule, calendar=calendar, start=to_us(start), end=to_us(end), pauses=spans
    )
    return timedelta(microseconds=counted)


def remaining_time(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    logged_at: datetime,
    now: datetime,
    pauses: Iterable[PauseLike] = (),
) -> timedelta | None:
    """Counted time left before the due instant at ``now`` (never negative; None: no target)."""
    target = target_time(rule=rule, calendar=calendar, logged_at=logged_at)
    if target is None:
        return None
    elapsed = counted_time(rule=rule, calendar=calendar, start=logged_at, end=now, pauses=pauses)
    return max(target - elapsed, timedelta(0))


def advance(
    *,
    rule: Rule,
    calendar: BusinessCalendar | None,
    start: datetime,
    amount: timedelta,
    pauses: Sequence[Span] = (),
) -> datetime | None:
    """The earliest instant at which the rule's counted time since ``start`` reaches ``amount``."""
    result = rule_advance_us(
        rule=rule, calendar=calendar, start=to_us(start), amount=amount // _ONE_US, pauses=pauses
    )
    return None if result is None else from_us(result)
