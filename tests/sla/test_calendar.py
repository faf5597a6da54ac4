"""Calendars: holidays looked up by local date, DST-correct spans, business-day predicate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest

from bot.sla.calendar import calendar_for, from_us, to_us
from tests.sla.conftest import (
    ALL_WEEK,
    BUSINESS_DAYS,
    OPENING,
    PRO,
    bx,
    calendar_source,
    make_calendar,
    weekdays,
)

BE_PUBLIC_HOLIDAYS_2026 = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 1): "Labor Day",
    date(2026, 5, 14): "Ascension Day",
    date(2026, 5, 25): "Pentecost Monday",
    date(2026, 7, 21): "National Day",
    date(2026, 11, 11): "Armistice Day",
    date(2026, 12, 25): "Christmas Day",
}


@pytest.mark.parametrize(("day", "name"), sorted(BE_PUBLIC_HOLIDAYS_2026.items()))
def test_belgian_weekday_holidays_close_the_day(day: date, name: str) -> None:
    assert OPENING.holiday(day, language="en_US") == name
    assert OPENING.closed(day)
    assert not OPENING.business_day(day)
    assert OPENING.spans_on(day) == ()


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 12, 26),  # Friday after Christmas: a bank holiday, not a public one
        date(2024, 12, 26),
        date(2026, 4, 3),  # Good Friday
        date(2025, 5, 30),  # Friday after Ascension
        date(2026, 12, 24),
        date(2026, 12, 31),
    ],
)
def test_days_that_are_not_belgian_public_holidays(day: date) -> None:
    table = holidays.country_holidays("BE", years=day.year, categories=("public",))
    assert day not in table
    assert OPENING.business_day(day)
    assert len(OPENING.spans_on(day)) == 1


def test_26_december_is_only_a_bank_holiday_in_belgium() -> None:
    bank = holidays.country_holidays("BE", years=2025, categories=("bank",))
    assert date(2025, 12, 26) in bank
    assert date(2025, 12, 26) not in holidays.country_holidays("BE", years=2025)


def test_holidays_on_weekends_are_not_moved() -> None:
    # 1 November 2026 is a Sunday: Monday 2 November is an ordinary business day.
    assert OPENING.holiday(date(2026, 11, 1), language="en_US") == "All Saints' Day"
    assert OPENING.business_day(date(2026, 11, 2))


def test_french_calendar_uses_french_holidays_and_paris() -> None:
    alteo = make_calendar(weekdays("09:00", "18:00"), zone="Europe/Paris", country="FR")
    assert alteo.closed(date(2026, 7, 14))
    assert not alteo.closed(date(2026, 7, 21))
    assert alteo.closed(date(2026, 5, 8))
    assert alteo.windows_on(date(2026, 7, 15)) == [
        (datetime(2026, 7, 15, 7, tzinfo=UTC), datetime(2026, 7, 15, 16, tzinfo=UTC))
    ]


def test_windows_are_wall_clock_times_in_both_offsets() -> None:
    winter = OPENING.windows_on(date(2026, 1, 6))
    summer = OPENING.windows_on(date(2026, 7, 7))
    assert winter == [(datetime(2026, 1, 6, 7, tzinfo=UTC), datetime(2026, 1, 6, 18, tzinfo=UTC))]
    assert summer == [(datetime(2026, 7, 7, 6, tzinfo=UTC), datetime(2026, 7, 7, 17, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 3, 28), 24)],
)
def test_all_day_window_on_dst_days_lasts_23_or_25_hours(day: date, hours: int) -> None:
    ((start, end),) = ALL_WEEK.windows_on(day)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ALL_WEEK.zone).time().hour == 0
    assert end.astimezone(ALL_WEEK.zone).date() == day + timedelta(days=1)


def test_window_starting_in_the_skipped_hour_opens_at_the_change() -> None:
    night = make_calendar({"sun": [("02:30", "05:00")]})
    ((start, end),) = night.windows_on(date(2026, 3, 29))
    assert start == bx("2026-03-29 03:00")
    assert end - start == timedelta(hours=2)
    ((start, end),) = night.windows_on(date(2026, 10, 25))
    assert start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # first 02:30 (summer time)
    assert end == datetime(2026, 10, 25, 4, tzinfo=UTC)


def test_saturday_window_is_window_time_but_not_a_business_day() -> None:
    saturday = date(2026, 11, 21)
    assert not PRO.business_day(saturday)
    assert PRO.windows_on(saturday) == [(bx("2026-11-21 08:00"), bx("2026-11-21 16:30"))]
    assert PRO.business_day(date(2026, 11, 20))
    assert not PRO.business_day(date(2026, 11, 22))


def test_extra_closures_close_a_day() -> None:
    closed = make_calendar(weekdays("08:00", "19:00"), closures=("2026-12-24",))
    assert closed.closed(date(2026, 12, 24))
    assert not closed.business_day(date(2026, 12, 24))
    assert closed.spans_on(date(2026, 12, 24)) == ()
    assert closed.day_info(date(2026, 12, 24)).closure


def test_overlapping_windows_are_merged() -> None:
    cal = make_calendar({"mon": [("12:00", "14:00"), ("08:00", "12:00"), ("15:00", "16:00")]})
    assert cal.windows_on(date(2026, 11, 23)) == [
        (bx("2026-11-23 08:00"), bx("2026-11-23 14:00")),
        (bx("2026-11-23 15:00"), bx("2026-11-23 16:00")),
    ]


def test_calendar_without_windows_is_rejected() -> None:
    with pytest.raises(ValueError, match="no window"):
        make_calendar({})


def test_calendar_for_caches_per_source() -> None:
    source = calendar_source(weekdays("08:00", "19:00"))
    assert calendar_for(source) is calendar_for(source)


def test_business_time_between_instants() -> None:
    start, end = bx("2026-11-20 17:30"), bx("2026-11-23 10:30")
    assert OPENING.business_time(start=start, end=end) == timedelta(hours=4)
    assert BUSINESS_DAYS.business_time(start=start, end=end) == timedelta(hours=17)
    assert OPENING.business_time(start=end, end=start) == timedelta(0)


def test_microsecond_instants_round_trip() -> None:
    instant = datetime(2026, 3, 29, 1, 2, 3, 456789, tzinfo=UTC)
    assert from_us(to_us(instant)) == instant
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2026, 1, 1))
