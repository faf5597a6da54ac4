"""Due instants per rule type, table-driven from the contracts' digest and its decisions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from bot.sla.calendar import BusinessCalendar
from bot.sla.rules import (
    Pause,
    RuleError,
    counted_time,
    due_business_days_24h,
    due_business_hours,
    due_calendar_duration,
    due_end_of_nth_business_day,
    due_for,
    due_next_business_day,
    due_same_day,
    normalise_pauses,
    remaining_time,
    target_time,
)
from pricing.schema import BestEffortRule, BusinessHoursRule, EndOfNthBusinessDayRule
from tests.sla.conftest import ALL_WEEK, BASIC, BUSINESS_DAYS, MAXI, OPENING, PRO, bx

PROXIMUS_CUTOFFS = {
    **{d: time(17) for d in ("mon", "tue", "wed", "thu", "fri")},
    "sat": time(13),
}

BUSINESS_HOURS_CASES = [
    # (logged, hours, due, why)
    ("2026-11-20 15:00", 4, "2026-11-20 19:00", "reaches the target at the Friday close"),
    ("2026-11-20 17:30", 4, "2026-11-23 10:30", "weekend skipped"),
    ("2026-11-24 06:00", 4, "2026-11-24 12:00", "logged before the window"),
    ("2026-11-24 08:00", 4, "2026-11-24 12:00", "logged exactly at the opening"),
    ("2026-11-24 19:00", 4, "2026-11-25 12:00", "logged exactly at the close"),
    ("2026-11-24 18:59", 4, "2026-11-25 11:59", "one minute before the close"),
    ("2026-11-24 22:00", 4, "2026-11-25 12:00", "logged in the evening"),
    ("2026-11-21 10:00", 4, "2026-11-23 12:00", "logged on Saturday"),
    ("2026-11-24 10:00", 11, "2026-11-25 10:00", "a full window"),
    ("2026-11-24 10:00", Decimal("0.25"), "2026-11-24 10:15", "a quarter hour"),
    ("2026-04-02 17:00", 4, "2026-04-03 10:00", "Good Friday is worked"),
    ("2026-04-03 17:00", 4, "2026-04-07 10:00", "Easter Monday"),
    ("2026-05-13 17:00", 4, "2026-05-15 10:00", "Ascension Day"),
    ("2026-05-22 17:00", 4, "2026-05-26 10:00", "Whit Monday"),
    ("2026-07-20 17:00", 4, "2026-07-22 10:00", "21 July"),
    ("2027-10-29 17:00", 4, "2027-11-02 10:00", "1 November, and the October DST weekend"),
    ("2026-11-10 17:00", 4, "2026-11-12 10:00", "11 November"),
    ("2025-12-24 17:00", 4, "2025-12-26 10:00", "Christmas Thursday; 26 December is worked"),
    ("2026-12-24 17:00", 4, "2026-12-28 10:00", "Christmas Friday"),
    ("2025-12-31 17:00", 4, "2026-01-02 10:00", "New Year"),
    ("2026-03-27 17:00", 4, "2026-03-30 10:00", "March DST weekend"),
    ("2026-10-23 17:00", 4, "2026-10-26 10:00", "October DST weekend"),
]


@pytest.mark.parametrize(("logged", "hours", "due", "why"), BUSINESS_HOURS_CASES)
def test_business_hours(logged: str, hours: int | Decimal, due: str, why: str) -> None:
    result = due_business_hours(calendar=OPENING, logged_at=bx(logged), hours=Decimal(hours))
    assert result == bx(due), why


BUSINESS_DAYS_CASES = [
    ("2026-11-24 10:00", 1, "2026-11-25 10:00", "Tuesday + 1 = Wednesday same time"),
    ("2026-11-20 17:30", 1, "2026-11-23 17:30", "Friday + 1 = Monday same time"),
    ("2026-11-21 10:00", 1, "2026-11-24 00:00", "Saturday: counting starts Monday 00:00"),
    ("2026-11-22 23:59", 1, "2026-11-24 00:00", "Sunday night"),
    ("2026-11-23 00:00", 1, "2026-11-24 00:00", "exactly at Monday 00:00"),
    ("2026-11-23 10:00", 5, "2026-11-30 10:00", "five business days"),
    ("2026-05-22 10:00", 1, "2026-05-26 10:00", "Whit Monday"),
    ("2026-05-13 10:00", 1, "2026-05-15 10:00", "Ascension Day"),
    ("2026-07-20 12:00", 2, "2026-07-23 12:00", "21 July"),
    ("2026-11-10 09:00", 1, "2026-11-12 09:00", "11 November"),
    ("2025-12-24 10:00", 1, "2025-12-26 10:00", "26 December is a business day"),
    ("2026-12-23 10:00", 2, "2026-12-28 10:00", "Christmas Friday"),
    ("2026-03-27 17:30", 1, "2026-03-30 17:30", "across the March DST weekend"),
    ("2026-10-23 17:30", 1, "2026-10-26 17:30", "across the October DST weekend"),
    ("2027-03-26 17:30", 1, "2027-03-30 17:30", "DST Sunday then Easter Monday"),
]


@pytest.mark.parametrize(("logged", "days", "due", "why"), BUSINESS_DAYS_CASES)
def test_business_days_24h(logged: str, days: int, due: str, why: str) -> None:
    result = due_business_days_24h(calendar=BUSINESS_DAYS, logged_at=bx(logged), days=days)
    assert result == bx(due), why


@pytest.mark.parametrize(
    ("logged", "due"),
    [
        # 24 counted hours across the night the clocks go forward (23-hour Sunday)...
        ("2026-03-28 12:00", "2026-03-29 13:00"),
        # ... and back (25-hour Sunday).
        ("2026-10-24 12:00", "2026-10-25 11:00"),
        ("2026-03-29 01:30", "2026-03-30 02:30"),
    ],
)
def test_business_days_24h_with_a_window_spanning_the_dst_night(logged: str, due: str) -> None:
    result = due_business_days_24h(calendar=ALL_WEEK, logged_at=bx(logged), days=1)
    assert result == bx(due)
    assert result - bx(logged) == timedelta(hours=24)


NTH_DAY_CASES = [
    # (calendar, logged, days, due)
    (BASIC, "2026-11-23 10:00", 1, "2026-11-24 20:00"),
    (BASIC, "2026-11-23 10:00", 3, "2026-11-26 20:00"),
    (BASIC, "2026-11-23 06:00", 1, "2026-11-24 20:00"),  # before the window: still next day
    (BASIC, "2026-11-23 23:00", 1, "2026-11-24 20:00"),
    (BASIC, "2026-11-20 10:00", 1, "2026-11-23 20:00"),
    (BASIC, "2026-11-21 10:00", 1, "2026-11-23 20:00"),  # logged Saturday
    (BASIC, "2026-11-20 10:00", 10, "2026-12-04 20:00"),
    (PRO, "2026-11-20 10:00", 1, "2026-11-23 22:00"),  # Saturday is not a business day
    (PRO, "2026-11-21 10:00", 1, "2026-11-23 22:00"),
    (PRO, "2026-05-22 10:00", 1, "2026-05-26 22:00"),  # Whit Monday
    (PRO, "2026-05-13 10:00", 3, "2026-05-19 22:00"),  # Ascension
    (PRO, "2026-12-23 10:00", 3, "2026-12-29 22:00"),  # Christmas Friday
]


@pytest.mark.parametrize(("calendar", "logged", "days", "due"), NTH_DAY_CASES)
def test_end_of_nth_business_day(
    calendar: BusinessCalendar, logged: str, days: int, due: str
) -> None:
    result = due_end_of_nth_business_day(calendar=calendar, logged_at=bx(logged), days=days)
    assert result == bx(due)


def test_next_business_day_is_the_nth_rule_with_n_1() -> None:
    for logged in ("2026-11-20 10:00", "2026-11-21 15:00", "2026-05-22 21:00"):
        assert due_next_business_day(calendar=PRO, logged_at=bx(logged)) == (
            due_end_of_nth_business_day(calendar=PRO, logged_at=bx(logged), days=1)
        )


SAME_DAY_CASES = [
    ("2026-11-23 16:59", "2026-11-23 20:00", "before the 17:00 cutoff"),
    ("2026-11-23 17:00", "2026-11-24 20:00", "at the cutoff: next day"),
    ("2026-11-23 07:00", "2026-11-23 20:00", "before the window"),
    ("2026-11-23 20:00", "2026-11-24 20:00", "at the close"),
    ("2026-11-20 17:00", "2026-11-21 16:30", "Friday after the cutoff: Saturday's window"),
    ("2026-11-21 12:59", "2026-11-21 16:30", "Saturday before 13:00"),
    ("2026-11-21 13:00", "2026-11-23 20:00", "Saturday at 13:00: Monday (no Sunday window)"),
    ("2026-11-22 10:00", "2026-11-23 20:00", "Sunday is not a service day"),
    ("2026-05-25 10:00", "2026-05-26 20:00", "Whit Monday is not a service day"),
    ("2026-05-13 17:30", "2026-05-15 20:00", "eve of Ascension after the cutoff"),
    ("2026-12-24 17:00", "2026-12-26 16:30", "Christmas Friday: Saturday window"),
]


@pytest.mark.parametrize(("logged", "due", "why"), SAME_DAY_CASES)
def test_same_day_with_cutoffs(logged: str, due: str, why: str) -> None:
    result = due_same_day(calendar=MAXI, logged_at=bx(logged), cutoffs=PROXIMUS_CUTOFFS)
    assert result == bx(due), why


def test_same_day_without_a_cutoff_for_the_weekday_uses_the_close() -> None:
    result = due_same_day(calendar=MAXI, logged_at=bx("2026-11-23 19:00"), cutoffs={})
    assert result == bx("2026-11-23 20:00")


def test_calendar_duration_and_best_effort() -> None:
    logged = bx("2026-03-28 22:00")
    # Five elapsed hours across the night the clocks go forward: 04:00 local, not 03:00.
    assert due_calendar_duration(logged_at=logged, hours=Decimal(5)) == bx("2026-03-29 04:00")
    paused = due_calendar_duration(
        logged_at=logged,
        hours=Decimal(5),
        pauses=[Pause(bx("2026-03-28 23:00"), bx("2026-03-29 00:30"), "customer")],
    )
    assert paused == bx("2026-03-29 05:30")
    best = due_for(rule=BestEffortRule(rule="best_effort"), calendar=None, logged_at=logged)
    assert best is None


PAUSE_CASES = [
    # (logged, hours, pauses, due)
    ("2026-11-24 10:00", 4, [("2026-11-24 11:00", "2026-11-24 12:00")], "2026-11-24 15:00"),
    ("2026-11-24 17:00", 4, [("2026-11-24 18:00", "2026-11-25 09:00")], "2026-11-25 12:00"),
    ("2026-11-24 10:00", 4, [("2026-11-24 20:00", "2026-11-25 07:00")], "2026-11-24 14:00"),
    ("2026-11-24 10:00", 4, [("2026-11-24 08:00", "2026-11-24 11:00")], "2026-11-24 15:00"),
    ("2026-11-24 10:00", 4, [("2026-11-23 08:00", "2026-11-23 11:00")], "2026-11-24 14:00"),
    (
        "2026-11-24 10:00",
        4,
        [("2026-11-24 11:00", "2026-11-24 12:00"), ("2026-11-24 11:30", "2026-11-24 13:00")],
        "2026-11-24 16:00",
    ),
    ("2026-11-20 15:00", 4, [("2026-11-20 18:00", "2026-11-23 09:00")], "2026-11-23 10:00"),
]


@pytest.mark.parametrize(("logged", "hours", "pauses", "due"), PAUSE_CASES)
def test_business_hours_with_pauses(
    logged: str, hours: int, pauses: list[tuple[str, str]], due: str
) -> None:
    stops = [Pause(bx(s), bx(e), "waiting for customer") for s, e in pauses]
    result = due_business_hours(
        calendar=OPENING, logged_at=bx(logged), hours=Decimal(hours), pauses=stops
    )
    assert result == bx(due)


def test_open_ended_pause_holds_the_due_instant() -> None:
    stop = Pause(bx("2026-11-24 11:00"), None, "customer unreachable")
    assert (
        due_business_hours(
            calendar=OPENING, logged_at=bx("2026-11-24 10:00"), hours=Decimal(4), pauses=[stop]
        )
        is None
    )
    # A target reached before the pause starts is not held.
    late = Pause(bx("2026-11-24 15:00"), None, "customer unreachable")
    assert due_business_hours(
        calendar=OPENING, logged_at=bx("2026-11-24 10:00"), hours=Decimal(4), pauses=[late]
    ) == bx("2026-11-24 14:00")


def test_pauses_move_day_based_due_instants_by_the_paused_window_time() -> None:
    logged = bx("2026-11-23 10:00")
    # Window time paused: Tuesday 19:00-20:00 (1 h); Wednesday 08:00-09:00 is paused too.
    stops = [Pause(bx("2026-11-24 19:00"), bx("2026-11-25 09:00"), "third party")]
    assert due_end_of_nth_business_day(
        calendar=BASIC, logged_at=logged, days=1, pauses=stops
    ) == bx("2026-11-25 10:00")
    # A pause outside the window moves nothing.
    night = [Pause(bx("2026-11-23 21:00"), bx("2026-11-24 07:00"), "planned works")]
    assert due_end_of_nth_business_day(
        calendar=BASIC, logged_at=logged, days=1, pauses=night
    ) == bx("2026-11-24 20:00")
    # Same day: one hour paused at noon moves the close to the next window's first hour.
    noon = [Pause(bx("2026-11-23 12:00"), bx("2026-11-23 13:00"), "customer")]
    assert due_same_day(
        calendar=MAXI, logged_at=logged, cutoffs=PROXIMUS_CUTOFFS, pauses=noon
    ) == bx("2026-11-24 09:00")


def test_pauses_on_24h_business_days() -> None:
    stops = [Pause(bx("2026-11-24 12:00"), bx("2026-11-24 14:00"), "customer")]
    result = due_business_days_24h(
        calendar=BUSINESS_DAYS, logged_at=bx("2026-11-24 10:00"), days=1, pauses=stops
    )
    assert result == bx("2026-11-25 12:00")
    weekend = [Pause(bx("2026-11-21 00:00"), bx("2026-11-23 00:00"), "customer")]
    result = due_business_days_24h(
        calendar=BUSINESS_DAYS, logged_at=bx("2026-11-20 17:30"), days=1, pauses=weekend
    )
    assert result == bx("2026-11-23 17:30")


def test_elapsed_remaining_and_target_time() -> None:
    rule = BusinessHoursRule(rule="business_hours", hours=Decimal(4), calendar="opening-hours")
    logged, now = bx("2026-11-20 17:30"), bx("2026-11-23 09:00")
    stops = [Pause(bx("2026-11-20 18:00"), bx("2026-11-20 18:30"))]
    assert counted_time(rule=rule, calendar=OPENING, start=logged, end=now, pauses=stops) == (
        timedelta(hours=2)
    )
    assert remaining_time(
        rule=rule, calendar=OPENING, logged_at=logged, now=now, pauses=stops
    ) == timedelta(hours=2)
    nth = EndOfNthBusinessDayRule(rule="end_of_nth_business_day", days=1, calendar="basic")
    assert target_time(rule=nth, calendar=BASIC, logged_at=bx("2026-11-23 10:00")) == (
        timedelta(hours=22)
    )


def test_rule_errors() -> None:
    rule = BusinessHoursRule(rule="business_hours", hours=Decimal(4), calendar="opening-hours")
    with pytest.raises(RuleError, match="needs a calendar"):
        due_for(rule=rule, calendar=None, logged_at=bx("2026-11-23 10:00"))
    with pytest.raises(RuleError, match="ends"):
        normalise_pauses(pauses=[(bx("2026-11-23 10:00"), bx("2026-11-23 09:00"))])
    with pytest.raises(ValueError, match="naive"):
        due_for(rule=rule, calendar=OPENING, logged_at=datetime(2026, 11, 23, 10))


def test_due_instants_are_utc_and_other_offsets_are_accepted() -> None:
    logged = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 17:30 in Brussels
    due = due_business_hours(calendar=OPENING, logged_at=logged, hours=Decimal(4))
    assert due is not None
    assert due.utcoffset() == timedelta(0)
    assert due == bx("2026-11-23 10:30")
