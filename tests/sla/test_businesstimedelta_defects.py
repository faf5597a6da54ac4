"""Where the ``businesstimedelta`` library and this engine disagree, and why it is the library.

On the benchmark's calendar (08:00-19:00 Monday-Friday, Belgian public holidays) the two
engines agree on every deadline: no public holiday there falls on a day of a DST change with
window time around it. The library's holiday rule is wrong as soon as a closed day *is* a
DST-change day (an extra closure on a last Sunday of March or October, with windows on
Sundays or right after midnight): it ends the closed day at ``start + timedelta(days=1)`` on
the start's fixed UTC offset (a pytz datetime never normalised), i.e. 24 h later instead of
at the next local midnight, which is 23 h or 25 h later on those days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from bot.sla.rules import due_business_hours
from tests.sla.conftest import bx, make_calendar

btd = pytest.importorskip("businesstimedelta")
pytz = pytest.importorskip("pytz")

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A date far ahead: the library raises TypeError when no holiday follows within 5 years.
SENTINEL = date(2029, 1, 1)


def _their_rule(start: time, end: time, closed: date) -> object:
    tz = pytz.timezone("Europe/Brussels")
    return btd.Rules(
        [
            btd.WorkDayRule(start_time=start, end_time=end, working_days=list(range(7)), tz=tz),
            btd.HolidayRule([closed, SENTINEL], tz=tz),
        ]
    )


def test_closed_23_hour_day_spills_into_the_next_day() -> None:
    # Windows 00:00-02:00 every day; Sunday 29 March 2026 (clocks go forward) is closed.
    ours = make_calendar(
        {d: [("00:00", "02:00")] for d in EVERY_DAY}, country=None, closures=("2026-03-29",)
    )
    logged = bx("2026-03-28 23:00")
    # Correct: Sunday counts nothing; Monday's window opens at 00:00, one hour is 01:00.
    assert due_business_hours(calendar=ours, logged_at=logged, hours=Decimal(1)) == bx(
        "2026-03-30 01:00"
    )
    assert ours.business_time(start=logged, end=bx("2026-03-30 12:00")) == timedelta(hours=2)
    # businesstimedelta keeps Monday 00:00-01:00 closed (the closure "ends" at 01:00 CEST):
    # it answers 02:00, and counts one hour of Monday's two.
    rule = _their_rule(time(0), time(2), date(2026, 3, 29))
    theirs = logged.astimezone(UTC) + btd.BusinessTimeDelta(rule, hours=1)
    assert theirs == bx("2026-03-30 02:00")
    spent = rule.difference(logged.astimezone(UTC), bx("2026-03-30 12:00").astimezone(UTC))
    assert spent.timedelta == timedelta(hours=1)


def test_closed_25_hour_day_reopens_an_hour_early_and_never_terminates() -> None:
    # Windows 20:00-23:30 every day; Sunday 25 October 2026 (clocks go back) is closed.
    ours = make_calendar(
        {d: [("20:00", "23:30")] for d in EVERY_DAY}, country=None, closures=("2026-10-25",)
    )
    logged = bx("2026-10-24 23:45")
    # Correct: Sunday's window is closed; the hour is counted on Monday 20:00-21:00.
    assert due_business_hours(calendar=ours, logged_at=logged, hours=Decimal(1)) == bx(
        "2026-10-26 21:00"
    )
    # businesstimedelta ends the closure at 23:00 local on Sunday and then produces a
    # working period that ends before it starts; adding a BusinessTimeDelta from Saturday
    # evening loops forever on it (not run here).
    rule = _their_rule(time(20), time(23, 30), date(2026, 10, 25))
    start, end = rule.next(datetime(2026, 10, 25, 19, 30, tzinfo=UTC))
    assert end < start
    holiday_end = rule.unavailable_rules[0].next(datetime(2026, 10, 25, 12, tzinfo=UTC))[1]
    assert holiday_end == bx("2026-10-25 23:00")  # the local midnight is one hour later
